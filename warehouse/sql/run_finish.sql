UPDATE runs SET finished_at = $finished_at, status = $status, sources_ok = $sources_ok,
                sources_failed = $sources_failed, items_new = $items_new, message = $message
WHERE id = $id;
