"""Exports for compliance officers: XLSX, CSV and HTML reports of the incidents of a day or a week."""
