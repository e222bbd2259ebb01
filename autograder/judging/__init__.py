"""The grader's side: what judges a submission, step by step as nbgrader's preprocessors do.

- execute.py: `JudgedExecute`, nbgrader's Execute step with the student's cells run in the sandboxed
  kernel and the test cells judged here; `ReplayExecute` for the one writer of a parallel run;
- judge.py: a test cell run in this process, the student's functions as proxies into the kernel;
- numpy_kernel.py: the NumPy-only companion kernel where calls that forbid torch are made;
- metadata.py: tampered nbgrader cell metadata put back and its test cells zeroed;
- inert.py: a submission's outputs and markdown made inert for the instructor's browser.

The tests themselves are autograder/hidden/ and the catalogue of answers autograder/catalogue/.
"""
