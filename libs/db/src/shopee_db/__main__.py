"""`python -m shopee_db` is `shopee-db`."""

import sys

from shopee_db.cli import main

sys.exit(main())
