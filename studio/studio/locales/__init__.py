"""The studio's text catalogs, one module per language (`de`, `en`); `studio.i18n` reads them."""
