"""nbgrader configuration for the book's student copies (`make student`).

nbgrader reads this file because `make student` runs it from this folder:

    cd classroom && nbgrader generate_assignment notebooks --no-db --force

The repository root is nbgrader's course folder and `notebooks/` its one
"assignment", so `notebooks/NN-slug.ipynb` becomes `student/notebooks/NN-slug.ipynb`:
- ClearSolutions replaces the code between `### BEGIN SOLUTION` and
  `### END SOLUTION` with a stub that raises NotImplementedError, and the text
  of markdown solution cells (open questions) with "YOUR ANSWER HERE";
- ClearOutput clears every output; the check cells are ordinary cells and stay;
- nbconvert's RegexRemovePreprocessor drops the cells that hold only a
  sphinx-exercise `{solution-start}` / `{solution-end}` fence: in Jupyter they
  would show as stray code blocks around the student's own answer.
"""

import os

c = get_config()  # noqa: F821  (nbgrader defines get_config when it loads this file)

c.CourseDirectory.root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
c.CourseDirectory.source_directory = "."
c.CourseDirectory.release_directory = "student"
# setup_cell.py is the authors' source for every notebook's first cell; students get it inside the notebooks.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "setup_cell.py"]

c.ClearSolutions.enforce_metadata = True  # a solution marker outside a solution cell is an authoring error
c.GenerateAssignment.preprocessors.append("nbconvert.preprocessors.RegexRemovePreprocessor")
c.RegexRemovePreprocessor.enabled = True
# A whole cell that is one fence: no backtick between the directive and its closing ```, nothing after it.
c.RegexRemovePreprocessor.patterns = [r"\s*```\{solution-(start|end)\}[^`]*```\s*\Z"]
