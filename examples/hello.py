# A percent-format script: each `# %%` line starts a cell.
# Run it with:  cargo run --release -- run examples/hello.py

# %% Define
import sys
greeting = "Hello from Runyard"
def shout(text):
    return text.upper() + "!"

# %% Use the previous cell's bindings
print(greeting)
print(f"Python {sys.version_info.major}.{sys.version_info.minor}", file=sys.stderr)

# %% The last expression is the cell's result
shout(greeting)
