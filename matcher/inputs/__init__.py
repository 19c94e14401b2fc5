"""Reading and validating the input lists: files -> an immutable Dataset.

- :mod:`~matcher.inputs.schema`: the tables and columns of the spec, and their rules;
- :mod:`~matcher.inputs.io`, :mod:`~matcher.inputs.zipread`, :mod:`~matcher.inputs.xlsx`:
  reading a folder of CSV or Parquet, a zip archive, an Excel workbook;
- :mod:`~matcher.inputs.aliases`, :mod:`~matcher.inputs.names`: the Chinese and English
  names of sheets, columns and values, and the "English (中文)" name rule;
- :mod:`~matcher.inputs.dataset`: validation and the immutable :class:`Dataset`;
- :mod:`~matcher.inputs.template`: the Excel template to fill;
- :mod:`~matcher.inputs.generate`: the seeded generator of Fuzhou-like cities.
"""

__all__: list[str] = []
