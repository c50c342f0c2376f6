"""``python -m k8slab.course build [paths...]`` / ``python -m k8slab.course exercises [--check]``."""

import sys

from k8slab.course.build import main

if __name__ == "__main__":
    sys.exit(main())
