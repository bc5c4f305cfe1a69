"""Quality scoring: gold accuracy with its interval, the text, speech and image metrics,
agreement between annotators, consensus, cross-modal consistency and confusion. Pure: results
in, as the platform stores them (annotation/export_formats.py's shapes), figures out."""
