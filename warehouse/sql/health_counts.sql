-- Sources in service: enabled in the catalog, or disabled by the pipeline.
SELECT count(*) FROM source_health WHERE enabled OR disabled_reason IS NOT NULL;
