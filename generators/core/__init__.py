"""Machinery shared by every template: model, registry, parameters, random draws, rendering."""
