import sys; sys.path.insert(0, "/work/main/inst/python")
import kerascraft as kc, time, keras
from kerascraft.data import prepare_fit_data
d = kc.load_digits(seed=0)
x = prepare_fit_data(d["x_train"], d["y_train"], (d["x_val"], d["y_val"]))
def bench(x, y, xv, yv, reps=5):
    out = []
    for r in range(reps):
        keras.backend.clear_session()
        t0 = time.perf_counter()
        m = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation='relu'), keras.layers.Dense(10, activation='softmax')])
        m.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
        t1 = time.perf_counter()
        m.fit(x, y, validation_data=(xv, yv), epochs=2, batch_size=64, verbose=0)
        t2 = time.perf_counter()
        out.append((t1-t0, t2-t1))
    return out
print("Python host")
for a, b in bench(x[0], x[1], x[2][0], x[2][1], 8): print(f"{a:.4f} {b:.4f}")
