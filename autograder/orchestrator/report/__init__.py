"""The HTML reports: charts, page views and rendering."""
