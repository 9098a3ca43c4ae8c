"""The compliance report: its SQL, its CSV export and its SVG chart. No Flask in the report itself."""
