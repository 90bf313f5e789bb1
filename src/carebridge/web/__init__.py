"""The shell shared by every page: layout, templating, i18n, request dependencies, static assets."""
