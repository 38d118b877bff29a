"""Auth's pages: sign-in and sessions (`session`), the consent and device pages (`pages`), their routes (`routes`).

Jinja2 templates in `templates/`, one stylesheet in `static/`; no script anywhere, so the CSP forbids all.
"""
