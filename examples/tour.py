# %% [markdown]
# # A tour of Runyard
# Each `##` heading starts a section; a section continues from the one above.

# %% [markdown]
# ## Data

# %%
import random, time
random.seed(7)
readings = [round(random.gauss(20, 2), 1) for _ in range(8)]
readings

# %% [markdown]
# ## Analysis

# %%
mean = sum(readings) / len(readings)
print(f"mean temperature: \033[1;32m{mean:.2f} °C\033[0m")
for step in range(0, 101, 25):
    print(f"\rprogress {step:3d}%", end="", flush=True)
    time.sleep(0.05)
print()
max(readings) - min(readings)

# %% [markdown]
# ## Problems

# %%
def ratio(a, b):
    return a / b

ratio(mean, 0)
