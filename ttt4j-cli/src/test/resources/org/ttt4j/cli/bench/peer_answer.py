import json
import os
import sys

# A stand-in peer: chatter, a JSON line that is not the answer, then the answer.
print("loading...")
print(json.dumps({"ms": -1}))
print(json.dumps({"args": sys.argv[1:], "threads": os.environ.get("OPENBLAS_NUM_THREADS")}))
