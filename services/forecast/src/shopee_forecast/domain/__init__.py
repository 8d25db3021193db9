"""Pure forecasting, churn and inventory logic: no I/O, no clients."""
