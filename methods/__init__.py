"""Methods: one module per method, all behind `methods.base.BaseMethod`.

Every module (and subpackage) here is imported by the registry's discovery, so a new method
only needs a module with a ``@register(...)`` class.
"""
