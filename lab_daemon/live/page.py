"""The live page itself: one HTML document with its style and script inline.

No external assets: it works on a lab network without internet. Each tile pulls its
device's newest picture (``/snapshot/NAME.jpg?after=SEQ``, answered when a newer one
exists) at the live rate, and counts them in ``data-frames``; ``/status.json`` every
1.5 s says who holds each device and which test runs on it. Clicking a tile (or opening
the page with ``#full=NAME``) shows it full size. The page passes its own signature
(``exp``, ``sig``) on to every request.
"""

from __future__ import annotations

import html
import json
from string import Template

_PAGE = Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$lab - virtualpy live view</title>
<style>
body{margin:0;font:14px system-ui,sans-serif;background:#111;color:#ddd}
header{padding:8px 14px;background:#222;display:flex;gap:16px;align-items:baseline}
header h1{font-size:16px;margin:0;color:#fff}
#banner{background:#a33;color:#fff;padding:6px 14px}
main{display:flex;flex-wrap:wrap;gap:12px;padding:12px}
.tile{margin:0;background:#1c1c1c;border:1px solid #333;cursor:zoom-in;width:${tile}px}
.tile img{display:block;width:100%;aspect-ratio:16/9;background:#000;object-fit:contain}
.tile.nosignal img{opacity:.35}
figcaption{padding:6px 8px;line-height:1.45}
.name{color:#fff;font-weight:600}.model{color:#999;margin-left:6px}
.owner.free{color:#7c7}.test{color:#fc6;word-break:break-all}.since{color:#999}
#full{position:fixed;inset:0;background:rgba(0,0,0,.92);display:flex;flex-direction:column;
align-items:center;justify-content:center;cursor:zoom-out}
#full img{max-width:98vw;max-height:90vh}#full[hidden]{display:none}
</style></head>
<body data-lab="$lab">
<header><h1>$lab</h1><span id="viewers"></span><span id="clock"></span></header>
<div id="banner" hidden></div>
<main>
$tiles
</main>
<div id="full" hidden data-device="" data-frames="0">
<img alt="full size picture"><p id="full-caption"></p></div>
<script type="application/json" id="config">$config</script>
<script nonce="$nonce">
"use strict";
(() => {
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const q = new URLSearchParams(location.search);
  const auth = "exp=" + encodeURIComponent(q.get("exp") || "") +
    "&sig=" + encodeURIComponent(q.get("sig") || "");
  const viewer = Array.from(crypto.getRandomValues(new Uint8Array(8)),
    (b) => b.toString(16).padStart(2, "0")).join("");
  const period = 1000 / cfg.fps;
  const banner = document.getElementById("banner");
  const full = document.getElementById("full");
  let fullDevice = null, stopped = false;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const say = (text) => { banner.textContent = text; banner.hidden = !text; };

  async function refused(r) {
    say((await r.text()).trim());
    if (r.status === 401) stopped = true;  // a new link is needed: stop asking
    return r.status === 401 ? 60000 : 5000;
  }

  // Pull pictures of one device at one size while alive(); onFrame(time) after each.
  async function pull(device, size, img, alive, onFrame) {
    let seq = 0;
    while (alive() && !stopped) {
      const started = performance.now();
      let wait = period;
      try {
        const r = await fetch("/snapshot/" + encodeURIComponent(device) + ".jpg?size=" +
          size + "&after=" + seq + "&v=" + viewer + "&" + auth, {cache: "no-store"});
        if (r.status === 200) {
          const blob = await r.blob();
          seq = Number(r.headers.get("X-Frame-Seq"));
          const old = img.src;
          img.src = URL.createObjectURL(blob);
          if (old.startsWith("blob:")) URL.revokeObjectURL(old);
          onFrame(r.headers.get("X-Frame-Time"));
        } else if (r.status !== 204) {
          wait = await refused(r);
        }
      } catch (e) {
        wait = 2000;
      }
      await sleep(Math.max(0, started + wait - performance.now()));
    }
  }

  function since(t) {
    const mins = Math.max(0, Math.round((Date.now() / 1000 - t) / 60));
    return "since " + new Date(t * 1000).toLocaleTimeString() + " (" + mins + " min)";
  }

  function show(d) {
    const tile = document.querySelector('.tile[data-device="' + CSS.escape(d.name) + '"]');
    if (!tile) return;
    const lease = d.lease;
    const owner = tile.querySelector(".owner");
    owner.textContent = lease ? "held by " + lease.owner : "free";
    owner.classList.toggle("free", !lease);
    tile.querySelector(".since").textContent = lease ? since(lease.since) : "";
    tile.querySelector(".test").textContent = lease && lease.test ? lease.test : "";
    tile.dataset.owner = lease ? lease.owner : "";
    tile.dataset.test = lease && lease.test ? lease.test : "";
    tile.classList.toggle("nosignal", !d.signal);
    if (fullDevice === d.name) caption(tile);
  }

  function caption(tile) {
    const parts = [tile.dataset.device, tile.dataset.model,
      tile.dataset.owner ? "held by " + tile.dataset.owner : "free", tile.dataset.test];
    document.getElementById("full-caption").textContent = parts.filter(Boolean).join("  ·  ");
  }

  async function status() {
    while (!stopped) {
      let wait = 1500;
      try {
        const r = await fetch("/status.json?v=" + viewer + "&" + auth, {cache: "no-store"});
        if (r.status === 200) {
          const s = await r.json();
          say("");
          s.devices.forEach(show);
          document.getElementById("viewers").textContent =
            s.viewers + " of " + s.max_viewers + " viewers";
          document.getElementById("clock").textContent =
            new Date(s.time * 1000).toLocaleTimeString();
        } else {
          wait = await refused(r);
        }
      } catch (e) {
        say("the lab daemon does not answer; retrying");
      }
      await sleep(wait);
    }
  }

  function open(tile) {
    fullDevice = tile.dataset.device;
    const mine = fullDevice;
    caption(tile);
    full.hidden = false;
    full.dataset.device = mine;
    full.dataset.frames = 0;
    pull(mine, "full", full.querySelector("img"), () => fullDevice === mine, () => {
      full.dataset.frames = Number(full.dataset.frames) + 1;
    });
  }
  full.addEventListener("click", () => { fullDevice = null; full.hidden = true; });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { fullDevice = null; full.hidden = true; }
  });

  document.querySelectorAll(".tile").forEach((tile) => {
    tile.addEventListener("click", () => open(tile));
    const img = tile.querySelector("img");
    (async () => {
      while (!stopped) {
        if (fullDevice !== null) { await sleep(500); continue; }  // its budget is the big one's
        await pull(tile.dataset.device, "tile", img, () => fullDevice === null, (t) => {
          tile.dataset.frames = Number(tile.dataset.frames) + 1;
          tile.dataset.time = t;
        });
      }
    })();
  });
  status();
  // #full=NAME opens that device full size (a bookmark, or a headless check)
  const wanted = decodeURIComponent(location.hash.replace(/^#full=/, ""));
  document.querySelectorAll(".tile").forEach((t) => {
    if (location.hash.startsWith("#full=") && t.dataset.device === wanted) open(t);
  });
})();
</script>
</body></html>
""")

_TILE = Template(
    """<figure class="tile" data-device="$name" data-model="$model" data-frames="0" """
    """data-time="" data-owner="" data-test="">
<img alt="live picture of $name">
<figcaption><span class="name">$name</span><span class="model">$model</span><br>
<span class="owner free">free</span> <span class="since"></span><br>
<span class="test"></span></figcaption></figure>"""
)


def render(lab: str, devices: list[dict], fps: float, tile_width: int, nonce: str) -> bytes:
    """The page for ``devices`` (``{"name", "model"}`` each); ``nonce`` lets its script run."""
    esc = html.escape
    tiles = "\n".join(
        _TILE.substitute(name=esc(d["name"]), model=esc(str(d.get("model") or ""))) for d in devices
    )
    config = json.dumps({"fps": fps}).replace("<", "\\u003c")
    return _PAGE.substitute(
        lab=esc(lab), tiles=tiles, config=config, nonce=nonce, tile=int(tile_width)
    ).encode()
