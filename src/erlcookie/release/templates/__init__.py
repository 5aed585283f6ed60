"""Text templates `erlcookie release fix` writes (a package so that packaging ships them)."""
