"""Reading and validating the input lists: files → an immutable Dataset."""
