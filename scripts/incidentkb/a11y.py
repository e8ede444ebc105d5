"""Public name of the accessibility Markdown extension: `markdown_extensions: [incidentkb.a11y]` in mkdocs.yml.

Sites built without the plugin (`kb generate`) list it by this name; the extension lives in site/a11y.py.
"""

from incidentkb.site.a11y import makeExtension

__all__ = ["makeExtension"]
