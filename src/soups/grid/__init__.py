"""Experiment grids and the paper's comparison: recipes × seeds, multi-phase runs (two-stage, PEFT), weight
search, reports (Tables 1–5, 9, significance, radar plots, training curves), gradient-conflict measurement
(Figs 3–5) and a hierarchy suggested from the measured conflicts.

Commands (``soups.cli.grid``)::

    soups grid configs/grid/paper.yaml --seeds 3 --out runs/grid [--dry-run] [--recipes VS,VC]
    soups report runs/grid --out runs/grid/report
    soups conflicts runs/grid/VM-UAS/seed0 --steps 50 --out runs/conflicts
    soups suggest-hierarchy runs/conflicts --config configs/demo.yaml

Modules: ``recipes`` (grid and recipe files), ``weights`` (static objective weights), ``plan`` (per-phase
configs and folders), ``phases`` (initialise from a checkpoint, freeze), ``search`` (static-weight search by
dev score), ``runner`` (the grid loop), ``collect`` (reading a RUNS tree), ``tables`` / ``significance`` /
``resources`` / ``plots`` / ``report`` (the report), ``conflicts`` / ``conflict_plots`` (measuring),
``suggest`` (levels from conflicts).
"""
