"""Rendering a whole edit on many machines: the Ray executor, resumable runs and farm job files.

- :mod:`.records`  ShotSpec / ShotOutcome / request <-> JSON (what travels to workers and job files)
- :mod:`.manifest` the run manifest beside the output: which shot requests are done, with which files
- :mod:`.run`      a resumable run over any executor of the seam in :mod:`lengthen.executor`
- :mod:`.worker`   what runs on a worker: check access up front, render one shot into a staging folder
- :mod:`.ray_executor` one Ray task per shot (``pip install 'lengthen[farm]'``)
- :mod:`.jobs`     farm-agnostic job files: ``--jobs-only``, ``render-job``, ``--assemble``
- :mod:`.progress` one aggregate progress line (done, running, failed, ETA)

Nothing here imports Ray at module level; :func:`.ray_executor.import_ray` names the extra.
"""
