"""Infrastructure: what a production run, the command line and the notebooks' cache need around the
book's subject (devices, data loading, several processes, checkpoints, files, logs). A reader of the
book can skip this package; :mod:`genae` maps its modules."""
