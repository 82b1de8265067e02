"""soups — one multilingual, multi-task speech model, trained with conflict-aware multi-objective optimization.

Packages follow the one-way flow of the project::

    data -> model -> objectives -> moo -> train -> eval      (cli only wires them)
"""

__version__ = "0.1.0"
