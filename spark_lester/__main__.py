import sys

from spark_lester.cli import main

sys.exit(main())
