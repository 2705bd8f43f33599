"""The PyQt6 panel: the only package that imports Qt.

``state``, ``cast``, ``project``, ``scanning`` and ``jobs`` are Qt-free (tests drive them without
a screen); the widgets, ``workers`` and ``main_window`` are views and threads over them. Importing
this package imports no Qt.
"""
