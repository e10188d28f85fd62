// greenvoc listening test: the audio engine (Web Audio API) and the timeline under it.
// Every clip of a page is fetched and decoded once, before the page can be played; switching
// between clips restarts the new one at the same position (with 10 ms fades, no click) so that
// a rater compares the same passage; a loop region plays over and over. As webMUSHRA and
// BeaqleJS do it, without a framework.
"use strict";

const FADE_S = 0.01;

class AudioEngine {
  // fetcher(id) -> Promise<ArrayBuffer>: the clip's encoded bytes.
  constructor(fetcher) {
    this.fetcher = fetcher;
    this.ctx = null;
    this.buffers = new Map();
    this.listeners = new Set();
    // playback speed: 1 for raters; automated tests raise it to finish quickly
    this.rate = 1;
    this.voice = null;
    this.reset();
  }

  context() {
    if (!this.ctx) this.ctx = new (window.AudioContext || window.webkitAudioContext)();
    return this.ctx;
  }

  // Fetches and decodes every clip of `ids` not decoded yet; onprogress(done, total).
  async load(ids, onprogress) {
    const ctx = this.context();
    let done = 0;
    await Promise.all(ids.map(async (id) => {
      if (!this.buffers.has(id)) {
        const bytes = await this.fetcher(id);
        this.buffers.set(id, await ctx.decodeAudioData(bytes));
      }
      done += 1;
      if (onprogress) onprogress(done, ids.length);
    }));
  }

  // Forget the page: stop, no clip active, no loop region, position 0.
  reset() {
    this.silence();
    this.active = null;
    this.playing = false;
    this.pausedAt = 0;
    this.loop = false;
    this.region = null;
  }

  on(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); }

  emit(type, id) { for (const fn of this.listeners) fn(type, id); }

  duration(id = this.active) {
    const b = this.buffers.get(id);
    return b ? b.duration : 0;
  }

  // [start, end) of the loop region in seconds (the whole clip when none is selected).
  bounds(id = this.active) {
    const d = this.duration(id);
    if (!this.region) return [0, d];
    return [Math.min(this.region[0], d), Math.min(this.region[1], d)];
  }

  position() {
    if (!this.playing || !this.voice) return this.pausedAt;
    const v = this.voice;
    let p = v.offset + (this.ctx.currentTime - v.startedAt) * v.rate;
    if (v.loop) {
      const [a, b] = v.bounds;
      if (p >= b && b > a) p = a + ((p - a) % (b - a));
    }
    return Math.min(p, this.duration());
  }

  // Plays `id` from `from` (default: where playback is now, so a switch keeps the position).
  async play(id = this.active, from = null) {
    if (!this.buffers.has(id)) throw new Error(`clip ${id} is not loaded`);
    const ctx = this.context();
    if (ctx.state !== "running") await ctx.resume();
    let pos = from !== null ? from : this.position();
    const [a, b] = this.bounds(id);
    if (this.loop && (pos < a || pos >= b)) pos = a;
    if (pos >= this.duration(id) - 0.005) pos = this.loop ? a : 0;
    this.silence();
    const source = ctx.createBufferSource();
    const gain = ctx.createGain();
    source.buffer = this.buffers.get(id);
    source.playbackRate.value = this.rate;
    source.loop = this.loop;
    if (this.loop) { source.loopStart = a; source.loopEnd = b; }
    source.connect(gain).connect(ctx.destination);
    const now = ctx.currentTime;
    gain.gain.setValueAtTime(0, now);
    gain.gain.linearRampToValueAtTime(1, now + FADE_S);
    const voice = { source, gain, startedAt: now, offset: pos, rate: this.rate, loop: this.loop,
      bounds: [a, b] };
    source.onended = () => {
      if (this.voice !== voice) return;
      this.voice = null;
      this.playing = false;
      this.pausedAt = this.loop ? a : 0;
      this.emit("ended", id);
    };
    source.start(now, pos);
    this.voice = voice;
    this.active = id;
    this.playing = true;
    this.emit("started", id);
  }

  // Fades out and stops the sounding clip, if any (no "ended" event).
  silence() {
    const v = this.voice;
    if (!v) return;
    this.voice = null;
    v.source.onended = null;
    const now = this.ctx.currentTime;
    v.gain.gain.cancelScheduledValues(now);
    v.gain.gain.setValueAtTime(v.gain.gain.value, now);
    v.gain.gain.linearRampToValueAtTime(0, now + FADE_S);
    v.source.stop(now + FADE_S + 0.005);
  }

  pause() {
    if (!this.playing) return;
    this.pausedAt = this.position();
    this.silence();
    this.playing = false;
    this.emit("paused", this.active);
  }

  stop() {
    this.pause();
    this.pausedAt = this.loop ? this.bounds()[0] : 0;
    this.emit("stopped", this.active);
  }

  toggle(id = this.active) {
    if (this.playing && id === this.active) return this.pause();
    return this.play(id);
  }

  seek(t) {
    const d = this.duration();
    const pos = Math.max(0, Math.min(t, d));
    if (this.playing) return this.play(this.active, pos);
    this.pausedAt = pos;
    this.emit("seek", this.active);
  }

  setLoop(on) {
    this.loop = on;
    if (this.playing) this.play(this.active, this.position());
    this.emit("loop", this.active);
  }

  // Loop region [a, b) in seconds; null for the whole clip. Turns looping on.
  setRegion(region) {
    this.region = region;
    this.loop = this.loop || region !== null;
    if (this.playing) this.play(this.active, region ? region[0] : this.position());
    else if (region) this.pausedAt = region[0];
    this.emit("loop", this.active);
  }
}

// The timeline of a page: the waveform of `waveId` (or a plain bar when `wave` is false), the
// loop region and a moving playhead. When `selectable`, a click moves the playhead and a drag
// selects a loop region.
class Timeline {
  constructor(engine, waveId, { selectable = true, wave = true } = {}) {
    this.engine = engine;
    this.waveId = waveId;
    this.wave = wave;
    this.canvas = document.createElement("canvas");
    this.canvas.setAttribute("aria-hidden", "true");
    this.region = document.createElement("div");
    this.region.className = "region";
    this.head = document.createElement("div");
    this.head.className = "playhead";
    this.fill = document.createElement("div");
    this.fill.className = "fill";
    this.root = document.createElement("div");
    this.root.className = "timeline" + (selectable ? " selectable" : "") + (wave ? "" : " plain");
    this.root.append(this.canvas, this.fill, this.region, this.head);
    this.root.title = selectable ? "Click to move the playhead; drag to select a loop region"
      : "Playback position";
    this.frame = null;
    if (selectable) this.bindPointer();
    this.off = engine.on(() => this.update());
    this.resize = new ResizeObserver(() => this.draw());
    this.resize.observe(this.root);
  }

  duration() { return this.engine.duration(this.waveId); }

  timeAt(clientX) {
    const box = this.root.getBoundingClientRect();
    const x = Math.max(0, Math.min(clientX - box.left, box.width));
    return (x / box.width) * this.duration();
  }

  bindPointer() {
    let anchor = null;
    let dragged = false;
    this.root.addEventListener("pointerdown", (e) => {
      anchor = this.timeAt(e.clientX);
      dragged = false;
      this.root.setPointerCapture(e.pointerId);
    });
    this.root.addEventListener("pointermove", (e) => {
      if (anchor === null) return;
      const t = this.timeAt(e.clientX);
      if (Math.abs(t - anchor) > 0.02 * this.duration()) dragged = true;
      if (dragged) this.showRegion([Math.min(anchor, t), Math.max(anchor, t)]);
    });
    this.root.addEventListener("pointerup", (e) => {
      if (anchor === null) return;
      const t = this.timeAt(e.clientX);
      if (dragged) this.engine.setRegion([Math.min(anchor, t), Math.max(anchor, t)]);
      else this.engine.seek(t);
      anchor = null;
    });
  }

  draw() {
    const buffer = this.engine.buffers.get(this.waveId);
    const box = this.root.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.max(1, Math.round(box.width * dpr));
    this.canvas.height = Math.max(1, Math.round(box.height * dpr));
    const g = this.canvas.getContext("2d");
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (!buffer || !this.wave) { this.update(); return; }
    const data = buffer.getChannelData(0);
    const w = this.canvas.width;
    const h = this.canvas.height;
    const step = Math.max(1, Math.floor(data.length / w));
    let peak = 1e-6;
    for (let i = 0; i < data.length; i += 1) peak = Math.max(peak, Math.abs(data[i]));
    g.fillStyle = getComputedStyle(this.root).getPropertyValue("--wave").trim() || "#7a8fa6";
    for (let x = 0; x < w; x += 1) {
      let lo = 0;
      let hi = 0;
      for (let i = x * step; i < Math.min((x + 1) * step, data.length); i += 1) {
        lo = Math.min(lo, data[i]);
        hi = Math.max(hi, data[i]);
      }
      const y0 = h / 2 - (hi / peak) * (h / 2) * 0.92;
      const y1 = h / 2 - (lo / peak) * (h / 2) * 0.92;
      g.fillRect(x, y0, 1, Math.max(1, y1 - y0));
    }
    this.update();
  }

  showRegion(region) {
    const d = this.duration() || 1;
    if (!region) { this.region.hidden = true; return; }
    this.region.hidden = false;
    this.region.style.left = `${(100 * region[0]) / d}%`;
    this.region.style.width = `${(100 * (region[1] - region[0])) / d}%`;
  }

  update() {
    const e = this.engine;
    const d = this.duration() || 1;
    this.showRegion(e.loop ? e.bounds(this.waveId) : null);
    this.moveHead(d);
    if (e.playing && this.frame === null) {
      const tick = () => {
        this.moveHead(d);
        if (this.onframe) this.onframe();
        this.frame = this.engine.playing && this.root.isConnected
          ? requestAnimationFrame(tick) : null;
      };
      this.frame = requestAnimationFrame(tick);
    }
  }

  moveHead(d) {
    const at = `${(100 * Math.min(this.engine.position(), d)) / d}%`;
    this.head.style.left = at;
    this.fill.style.width = at;
  }

  dispose() {
    this.off();
    this.resize.disconnect();
    if (this.frame !== null) cancelAnimationFrame(this.frame);
  }
}

function formatTime(s) {
  return `${s.toFixed(1)} s`;
}
