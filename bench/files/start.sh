#!/bin/sh
# Placeholder start script: the benchmark only converges files.
exec sleep infinity
