"""Public name of the glossary Markdown extension: `markdown_extensions: [incidentkb.training]` in mkdocs.yml.

Knowledge bases name it in their mkdocs.yml, so the name stays; the extension lives in site/glossary.py.
"""

from incidentkb.site.glossary import makeExtension

__all__ = ["makeExtension"]
