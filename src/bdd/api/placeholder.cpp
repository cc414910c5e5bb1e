// Placeholder so the module links before its sources exist; delete when adding real files.
