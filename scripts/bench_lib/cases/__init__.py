"""The benchmark's cases, one module each; every module has run(ctx) -> model.Section."""
