// Chapter 7's explorer: the chain of section 3 run in the reader's browser by onnxruntime-web.
//
// The models are the book's four trained models, exported by genae/export.py (python -m
// genae.export): per model a `decode` graph (z -> pixel means) and a `transition` graph
// (pixel means + noise -> the next z: Bernoulli pixels if asked, the corruption, the
// encoder and its noise). All the maths of a step is in those graphs; this script draws
// the noise (a seeded generator, so a run can be shown twice), loops and draws.
//
// mount(element, {explorer, ort, models}) builds the explorer in `element` from the three
// base URLs and returns its API (also element.genaeExplorer, for tests and benchmarks):
//   setKind(kind), reset({start, seed, n, decode, point, z0}), step(k), state(), timeStep().

const KINDS = ["vae", "aae", "dvae", "daae"];
const STARTS = {
  prior: "fresh draws of P(Z)",
  heldout: "encodings of held-out digits",
  far: "far from Q(Z): N(0, 5\u00b2 I)",
  point: "a point you click in the plane",
};

// ---------------------------------------------------------------- random numbers
// xoshiro128** seeded by splitmix32: the same seed gives the same run in every browser.
function generator(seed) {
  let x = (seed >>> 0) ^ 0x9e3779b9;
  const split = () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split(), b = split(), c = split(), d = split();
  const next = () => {
    const r = Math.imul(((Math.imul(b, 5) << 7) | (Math.imul(b, 5) >>> 25)), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a; d ^= b; b ^= c; a ^= d; c ^= t;
    d = ((d << 11) | (d >>> 21)) >>> 0;
    return r;
  };
  const uniform = () => (next() + 0.5) / 4294967296; // in (0, 1)
  let spare = null;
  const normal = () => { // Box-Muller, both values used
    if (spare !== null) { const s = spare; spare = null; return s; }
    const r = Math.sqrt(-2 * Math.log(uniform())), th = 2 * Math.PI * uniform();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
  return {
    uniforms(n) { const out = new Float32Array(n); for (let i = 0; i < n; i++) out[i] = uniform(); return out; },
    normals(n, scale = 1) { const out = new Float32Array(n); for (let i = 0; i < n; i++) out[i] = scale * normal(); return out; },
  };
}

// ---------------------------------------------------------------- small helpers
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

function decodeBase64(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

function meanNorm(z, n, d) {
  let total = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += z[i * d + j] ** 2;
    total += Math.sqrt(s);
  }
  return total / n;
}

// ---------------------------------------------------------------- the explorer
export async function mount(root, bases) {
  const ort = await import(new URL("ort.wasm.bundle.min.mjs", bases.ort).href);
  // The bundle holds the WebAssembly loader; only the .wasm binary is fetched, from the book's files.
  ort.env.wasm.wasmPaths = { wasm: new URL("ort-wasm-simd-threaded.wasm", bases.ort).href };
  ort.env.wasm.numThreads = 1; // no SharedArrayBuffer, so no cross-origin isolation needed
  ort.env.wasm.proxy = false;
  ort.env.logLevel = "error";

  const manifestUrl = new URL("manifest.json", bases.models).href;
  const response = await fetch(manifestUrl);
  if (!response.ok) throw new Error(`the exported models are missing (${response.status} for manifest.json)`);
  const manifest = await response.json();
  if (manifest.format !== 1) throw new Error(`the models were exported in another format (${manifest.format})`);
  const d = manifest.latent_dim;
  const [C, H, W] = manifest.image;
  const P = C * H * W;
  const heldOut = decodeBase64(manifest.held_out.uint8);
  const kinds = KINDS.filter((k) => k in manifest.kinds);

  const opts = {
    n: Number(root.dataset.chains || 64),
    show: Number(root.dataset.show || 16),
  };
  const S = {
    kind: root.dataset.kind && kinds.includes(root.dataset.kind) ? root.dataset.kind : kinds[0],
    start: "prior", decode: "mean", seed: Number(root.dataset.seed || 0), n: opts.n,
    point: null, z: null, x: null, t: 0, norms: [], previous: null, rng: null, playing: false,
  };
  const sessions = {};

  async function session(kind, graph) {
    const key = `${kind}/${graph}`;
    if (!sessions[key]) {
      const url = new URL(manifest.kinds[kind][graph], bases.models).href;
      const bytes = await fetch(url).then((r) => {
        if (!r.ok) throw new Error(`the model file ${manifest.kinds[kind][graph]} is missing (${r.status})`);
        return r.arrayBuffer();
      });
      sessions[key] = await ort.InferenceSession.create(bytes, {
        executionProviders: ["wasm"], graphOptimizationLevel: "all",
      });
    }
    return sessions[key];
  }

  // decode: z (n x d) -> pixel means (n x P)
  async function decode(z, n) {
    const s = await session(S.kind, "decode");
    const out = await s.run({ z: new ort.Tensor("float32", z, [n, d]) });
    return out.mean.data;
  }

  // transition: pixel means (n x P) -> the next z, drawing exactly the noise the graph asks for
  async function transition(mean, n, sampleDecode) {
    const s = await session(S.kind, "transition");
    const shape = [n, C, H, W];
    const feeds = {
      mean: new ort.Tensor("float32", mean, shape),
      u: new ort.Tensor("float32", sampleDecode ? S.rng.uniforms(n * P) : new Float32Array(n * P), shape),
      sample_decode: new ort.Tensor("float32", new Float32Array([sampleDecode ? 1 : 0]), [1]),
    };
    if (s.inputNames.includes("noise_x")) feeds.noise_x = new ort.Tensor("float32", S.rng.normals(n * P), shape);
    if (s.inputNames.includes("noise_z")) feeds.noise_z = new ort.Tensor("float32", S.rng.normals(n * d), [n, d]);
    const out = await s.run(feeds, ["z"]);
    return out.z.data;
  }

  // ------------------------------------------------------------ the page's elements
  root.replaceChildren();
  const info = manifest.kinds;
  const kindButtons = Object.fromEntries(kinds.map((k) => [k, el("button", {
    type: "button", class: "gx-choice", "data-kind": k, onclick: () => api.setKind(k),
  }, info[k].label)]));
  const startSelect = el("select", { class: "gx-start", "aria-label": "start", onchange: () => {
    S.start = startSelect.value; api.reset();
  } }, ...Object.entries(STARTS).map(([v, label]) => el("option", { value: v }, label)));
  const decodeSelect = el("select", { class: "gx-decode", "aria-label": "decoding", onchange: () => {
    S.decode = decodeSelect.value; api.reset();
  } }, el("option", { value: "mean" }, "decode to the pixel means"),
  el("option", { value: "sample" }, "sample each pixel (Bernoulli)"));
  const seedInput = el("input", { type: "number", class: "gx-seed", min: "0", step: "1", value: String(S.seed),
    "aria-label": "seed", onchange: () => { S.seed = Math.max(0, Math.floor(Number(seedInput.value) || 0)); api.reset(); } });
  const stepButton = el("button", { type: "button", class: "gx-step", onclick: () => api.step(1) }, "step");
  const playButton = el("button", { type: "button", class: "gx-play", onclick: () => api.play(!S.playing) }, "play");
  const resetButton = el("button", { type: "button", class: "gx-reset", onclick: () => api.reset() }, "reset");
  const status = el("span", { class: "gx-status" }, "");

  const scale = Math.max(1, Math.floor(96 / W));
  const cols = Math.ceil(Math.sqrt(opts.show));
  const rows = Math.ceil(opts.show / cols);
  const pad = 2;
  const images = el("canvas", { class: "gx-images", width: String(cols * (W * scale + pad) + pad),
    height: String(rows * (H * scale + pad) + pad), "aria-label": "decoded images of the chains" });
  const plane = el("canvas", { class: "gx-plane", width: "360", height: "360",
    "aria-label": "the chains' latents in the PCA plane of Q(Z); click to start there" });
  const norms = el("canvas", { class: "gx-norms", width: "360", height: "110", "aria-label": "mean latent norm by step" });
  const numbers = el("div", { class: "gx-numbers" });
  const title = el("div", { class: "gx-title" });

  root.append(
    el("div", { class: "gx-controls" },
      el("span", { class: "gx-label" }, "model"), ...Object.values(kindButtons),
      el("span", { class: "gx-label" }, "start"), startSelect, decodeSelect,
      el("span", { class: "gx-label" }, "seed"), seedInput),
    el("div", { class: "gx-controls" }, stepButton, playButton, resetButton, status),
    el("div", { class: "gx-panels" },
      el("figure", {}, images, el("figcaption", {}, `the first ${opts.show} of ${S.n} chains, decoded`)),
      el("figure", {}, plane, el("figcaption", {},
        "grey: Q(Z) (encoded held-out images); red: the chains; circled: those shown; click to start there"))),
    el("div", { class: "gx-panels" },
      el("figure", {}, norms, el("figcaption", {}, "mean latent norm by step (dotted: Q(Z); dashed: P(Z))")),
      numbers),
    title);

  // ------------------------------------------------------------ drawing
  function project(z, i, plane) {
    let a = 0, b = 0;
    for (let j = 0; j < d; j++) {
      const v = z[i * d + j] - plane.mean[j];
      a += v * plane.components[0][j];
      b += v * plane.components[1][j];
    }
    return [a, b];
  }

  // The plane's frame: Q(Z)'s cloud and the chains' starts, fixed for a run so the steps compare.
  function frameFor(kind, z) {
    const p = info[kind], xs = [], ys = [];
    for (let i = 0; i < p.cloud.length; i += 2) { xs.push(p.cloud[i]); ys.push(p.cloud[i + 1]); }
    for (let i = 0; z && i < S.n; i++) { const [a, b] = project(z, i, p); xs.push(a); ys.push(b); }
    const spread = (v) => { const s = [...v].sort((a, b) => a - b); return [s[Math.floor(0.005 * s.length)], s[Math.ceil(0.995 * s.length) - 1]]; };
    const [x0, x1] = spread(xs), [y0, y1] = spread(ys);
    return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, half: 1.15 * Math.max(x1 - x0, y1 - y0) / 2 };
  }

  function toCanvas(frame, a, b) {
    const size = plane.width;
    return [size / 2 + (a - frame.cx) / frame.half * size / 2, size / 2 - (b - frame.cy) / frame.half * size / 2];
  }

  function drawImages() {
    const ctx = images.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, images.width, images.height);
    const tile = ctx.createImageData(W * scale, H * scale);
    for (let k = 0; k < Math.min(opts.show, S.n); k++) {
      for (let yy = 0; yy < H * scale; yy++) {
        for (let xx = 0; xx < W * scale; xx++) {
          const px = Math.floor(yy / scale) * W + Math.floor(xx / scale);
          const o = 4 * (yy * W * scale + xx);
          for (let c = 0; c < 3; c++) {
            const v = S.x[k * P + (C === 3 ? c * H * W : 0) + px];
            tile.data[o + c] = Math.max(0, Math.min(255, Math.round(255 * v)));
          }
          tile.data[o + 3] = 255;
        }
      }
      ctx.putImageData(tile, pad + (k % cols) * (W * scale + pad), pad + Math.floor(k / cols) * (H * scale + pad));
    }
  }

  function drawPlane() {
    const ctx = plane.getContext("2d");
    const p = info[S.kind], frame = S.frame;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, plane.width, plane.height);
    ctx.fillStyle = "rgba(150,150,150,0.55)";
    for (let i = 0; i < p.cloud.length; i += 2) {
      const [u, v] = toCanvas(frame, p.cloud[i], p.cloud[i + 1]);
      ctx.fillRect(u - 1.5, v - 1.5, 3, 3);
    }
    if (S.previous) {
      ctx.strokeStyle = "rgba(200,40,40,0.25)";
      for (let i = 0; i < S.n; i++) {
        const [a0, b0] = toCanvas(frame, ...project(S.previous, i, p));
        const [a1, b1] = toCanvas(frame, ...project(S.z, i, p));
        ctx.beginPath(); ctx.moveTo(a0, b0); ctx.lineTo(a1, b1); ctx.stroke();
      }
    }
    for (let i = 0; i < S.n; i++) {
      const [u, v] = toCanvas(frame, ...project(S.z, i, p));
      ctx.fillStyle = "rgba(210,40,40,0.75)";
      ctx.beginPath(); ctx.arc(u, v, 2.6, 0, 2 * Math.PI); ctx.fill();
      if (i < opts.show) {
        ctx.strokeStyle = "#000"; ctx.lineWidth = 1;
        ctx.beginPath(); ctx.arc(u, v, 5, 0, 2 * Math.PI); ctx.stroke();
      }
    }
    if (S.start === "point" && S.point) {
      const [u, v] = toCanvas(frame, S.point[0], S.point[1]);
      ctx.strokeStyle = "#1f5fbf"; ctx.lineWidth = 2;
      ctx.beginPath(); ctx.moveTo(u - 7, v); ctx.lineTo(u + 7, v); ctx.moveTo(u, v - 7); ctx.lineTo(u, v + 7); ctx.stroke();
      ctx.lineWidth = 1;
    }
  }

  function drawNorms() {
    const ctx = norms.getContext("2d");
    const w = norms.width, h = norms.height, m = 26;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
    const q = info[S.kind].q_norm, prior = manifest.prior_norm;
    const values = [...S.norms, q, prior];
    const lo = Math.min(...values) * 0.9, hi = Math.max(...values) * 1.05;
    const steps = Math.max(10, S.norms.length - 1);
    const X = (t) => m + (w - m - 6) * t / steps, Y = (v) => h - 14 - (h - 22) * (v - lo) / (hi - lo);
    ctx.strokeStyle = "#999"; ctx.setLineDash([2, 3]);
    ctx.beginPath(); ctx.moveTo(m, Y(q)); ctx.lineTo(w - 6, Y(q)); ctx.stroke();
    ctx.setLineDash([6, 4]);
    ctx.beginPath(); ctx.moveTo(m, Y(prior)); ctx.lineTo(w - 6, Y(prior)); ctx.stroke();
    ctx.setLineDash([]);
    ctx.strokeStyle = "#c82828"; ctx.lineWidth = 2; ctx.beginPath();
    S.norms.forEach((v, t) => (t ? ctx.lineTo(X(t), Y(v)) : ctx.moveTo(X(t), Y(v))));
    ctx.stroke(); ctx.lineWidth = 1;
    ctx.fillStyle = "#333"; ctx.font = "11px sans-serif";
    ctx.fillText(hi.toFixed(1), 2, 12); ctx.fillText(lo.toFixed(1), 2, h - 14);
    ctx.fillText("0", m, h - 2); ctx.fillText(String(steps), w - 22, h - 2);
  }

  function drawNumbers() {
    const q = info[S.kind].q_norm, now = S.norms[S.norms.length - 1];
    const gap = (now - q) / q;
    numbers.replaceChildren(
      el("p", {}, el("strong", {}, `step ${S.t}`), ` \u00b7 ${info[S.kind].label} \u00b7 ${STARTS[S.start]}`),
      el("p", {}, `mean latent norm of the ${S.n} chains: `, el("strong", { class: "gx-norm" }, now.toFixed(2))),
      el("p", {}, `Q(Z): ${q.toFixed(2)} \u00b7 P(Z): ${manifest.prior_norm.toFixed(2)}`),
      el("p", { class: "gx-distance" }, `${Math.abs(gap * 100).toFixed(0)}% ${gap >= 0 ? "above" : "below"} Q(Z)'s`));
  }

  function draw() {
    for (const [k, b] of Object.entries(kindButtons)) b.classList.toggle("gx-on", k === S.kind);
    startSelect.value = S.start;
    decodeSelect.value = S.decode;
    seedInput.value = String(S.seed);
    drawImages(); drawPlane(); drawNorms(); drawNumbers();
  }

  // ------------------------------------------------------------ the chain
  let busy = Promise.resolve();
  const queue = (job) => (busy = busy.then(job, job));

  async function startLatents() {
    const n = S.n;
    if (S.start === "given" && S.z0) return Float32Array.from(S.z0);
    if (S.start === "far") return S.rng.normals(n * d, manifest.far_scale);
    if (S.start === "point") {
      const p = info[S.kind];
      const [a, b] = S.point || [0, 0];
      const z = new Float32Array(n * d);
      for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = p.mean[j] + a * p.components[0][j] + b * p.components[1][j];
      return z;
    }
    if (S.start === "heldout") {
      const x = new Float32Array(n * P);
      for (let i = 0; i < n; i++) {
        const src = (i % manifest.held_out.n) * P;
        for (let k = 0; k < P; k++) x[i * P + k] = heldOut[src + k] / 255;
      }
      return transition(x, n, false); // z ~ Q(Z | x~): an encoding, as aggregate_posterior draws it
    }
    return S.rng.normals(n * d);
  }

  async function doReset() {
    S.rng = generator(S.seed);
    S.z = await startLatents();
    S.x = await decode(S.z, S.n);
    S.t = 0; S.previous = null;
    S.frame = frameFor(S.kind, S.z);
    S.norms = [meanNorm(S.z, S.n, d)];
    draw();
  }

  async function doStep() {
    const z = await transition(S.x, S.n, S.decode === "sample");
    S.previous = S.z; S.z = z;
    S.x = await decode(S.z, S.n);
    S.t += 1;
    S.norms.push(meanNorm(S.z, S.n, d));
  }

  plane.addEventListener("click", (event) => {
    const box = plane.getBoundingClientRect();
    const u = (event.clientX - box.left) * plane.width / box.width, v = (event.clientY - box.top) * plane.height / box.height;
    const f = S.frame;
    S.point = [f.cx + (u - plane.width / 2) / (plane.width / 2) * f.half, f.cy - (v - plane.height / 2) / (plane.height / 2) * f.half];
    S.start = "point";
    api.reset();
  });

  let timer = null;
  const api = {
    manifest,
    setKind(kind) {
      if (!kinds.includes(kind)) throw new Error(`no model ${kind}`);
      S.kind = kind;
      return api.reset();
    },
    reset(options = {}) {
      if ("seed" in options) S.seed = options.seed;
      if ("start" in options) S.start = options.start;
      if ("n" in options) S.n = options.n;
      if ("decode" in options) S.decode = options.decode;
      if ("point" in options) S.point = options.point;
      if ("z0" in options) S.z0 = options.z0;
      if ("kind" in options) S.kind = options.kind;
      status.textContent = "";
      return queue(doReset);
    },
    step(k = 1) {
      return queue(async () => {
        for (let i = 0; i < k; i++) await doStep();
        draw();
      });
    },
    play(on) {
      S.playing = on;
      playButton.textContent = on ? "pause" : "play";
      clearTimeout(timer);
      const tick = () => {
        if (!S.playing) return;
        api.step(1).then(() => { timer = setTimeout(tick, 350); });
      };
      if (on) tick();
    },
    async timeStep(repeats = 20) { // ms per chain step (decode + transition), after one warm-up step
      await busy;
      await doStep();
      const times = [];
      for (let i = 0; i < repeats; i++) {
        const t0 = performance.now();
        await doStep();
        times.push(performance.now() - t0);
      }
      draw();
      return times;
    },
    state(withImages = false) {
      return busy.then(() => ({
        kind: S.kind, start: S.start, decode: S.decode, seed: S.seed, n: S.n, t: S.t, d,
        z: Array.from(S.z), norms: [...S.norms],
        images: withImages ? Array.from(S.x.subarray(0, opts.show * P)) : null,
      }));
    },
  };
  root.genaeExplorer = api;
  window.genaeExplorer = api;
  await api.reset();
  return api;
}
