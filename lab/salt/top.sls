# Lab top file (file_roots: the formula from the working tree + lab/salt + .lab/gen/salt).
base:
  '*':
    - lab.smoke
