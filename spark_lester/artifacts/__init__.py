"""The warehouse: artifact paths (``layout``), Delta tables (``store``), the run registry
(``registry``), running a pipeline into it (``run``) and the run's model (``model``).

Nothing heavy is imported here: the submodules import pyspark and Delta where they need them.
"""
