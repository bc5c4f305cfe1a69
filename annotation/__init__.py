"""The annotation platform's domain: projects, items, tasks and their assignment rules,
preprocessing decisions, versions and their chain, export formats, quality scoring. Pure: no
I/O, no database."""
