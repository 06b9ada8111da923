// Vivify's page: upload a portrait, follow its render, then show it idling and reacting.
// Reactions: "like" -> smile, hover -> brows (raised; surprise where the drivers had none), and the
// viewer's own expression read from their webcam in this page with face-api (happy -> smile,
// surprised -> surprise, angry -> frown). The webcam picture never leaves the browser.
// Transitions: the reaction clip fades in over the idle loop (CSS opacity, 250 ms) and fades out
// over its last 250 ms, whose frames return to the portrait's rest pose: no jump cut.
// For tests and curious people: #profile[data-state] is "idle" or "reaction:NAME", and
// window.vivifyLog lists {t (performance.now() ms), event, ...} for every trigger and transition.

const $ = (id) => document.getElementById(id);
const log = (window.vivifyLog = []);
const note = (event, detail = {}) => log.push({ t: performance.now(), event, ...detail });

const FALLBACK = { smile: ['smile', 'laugh'], brows: ['brows', 'surprise'], surprise: ['surprise', 'brows'], frown: ['frown'], laugh: ['laugh', 'smile'] };
const FADE_MS = 250;
let clips = {};       // name -> <video>
let playing = null;   // the reaction on screen, or null

function showError(msg) {
  const e = $('error');
  e.textContent = msg;
  e.hidden = !msg;
}

async function apiJson(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (!res.ok) throw new Error(body?.error ?? `the server answered ${res.status}`);
  return body;
}

$('upload').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError('');
  const file = $('file').files[0];
  if (!file) { showError('Choose a portrait first.'); return; }
  const form = new FormData();
  form.append('portrait', file);
  $('progress').hidden = false;
  $('stage').textContent = 'Uploading...';
  $('send').disabled = true;
  try {
    const up = await apiJson(await fetch('/api/portraits', { method: 'POST', body: form }));
    note('uploaded', { id: up.id, cached: up.cached });
    history.replaceState(null, '', `?p=${up.id}`);
    await follow(up.id);
  } catch (e) {
    $('progress').hidden = true;
    showError(e.message);
  } finally {
    $('send').disabled = false;
  }
});

async function follow(id) {
  $('progress').hidden = false;
  for (;;) {
    const job = await apiJson(await fetch(`/api/jobs/${id}`));
    $('bar').value = job.progress;
    if (job.state === 'queued') $('stage').textContent = job.position > 1 ? `Waiting: ${job.position - 1} portrait(s) ahead of yours` : 'Waiting: yours is next';
    else if (job.state === 'running') $('stage').textContent = `${job.stage[0].toUpperCase()}${job.stage.slice(1)}... ${Math.round(job.progress * 100)}%`;
    else if (job.state === 'failed') throw new Error(`The render failed: ${job.error}`);
    else if (job.state === 'done') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  $('progress').hidden = true;
  note('rendered', { id });
  await show(await apiJson(await fetch(`/api/portraits/${id}/manifest`)));
}

async function show(m) {
  $('upload').hidden = true;
  $('still').src = m.still;
  const idle = $('idle');
  idle.src = m.idle.url;
  idle.classList.add('on');
  $('reactions').replaceChildren();
  $('chips').replaceChildren();
  clips = {};
  for (const r of m.reactions) {
    const v = document.createElement('video');
    Object.assign(v, { muted: true, playsInline: true, preload: 'auto', src: r.url });
    v.dataset.reaction = r.name;
    $('reactions').append(v);
    clips[r.name] = v;
    const chip = document.createElement('button');
    chip.type = 'button';
    chip.textContent = r.name;
    chip.dataset.reaction = r.name;
    chip.addEventListener('click', () => react(r.name, 'button'));
    $('chips').append(chip);
  }
  $('profile').hidden = false;
  try { await idle.play(); } catch (e) { showError(`The video cannot play here: ${e.message}`); }
  setState('idle');
  note('idle');
}

function setState(s) { $('profile').dataset.state = s; }

function pick(name) {
  for (const n of FALLBACK[name] ?? [name]) if (clips[n]) return n;
  return null;
}

/** Plays a reaction over the idle loop; ignored while another one plays. */
function react(wanted, cause) {
  const name = pick(wanted);
  note('trigger', { wanted, name, cause });
  if (!name || playing) return false;
  const v = clips[name];
  playing = name;
  let fading = false;
  const onTime = () => {
    if (!fading && v.duration && v.currentTime >= v.duration - FADE_MS / 1000) { fading = true; v.classList.remove('on'); }
  };
  const onEnd = () => {
    v.removeEventListener('timeupdate', onTime);
    v.classList.remove('on');
    playing = null;
    setState('idle');
    note('idle', { after: name });
  };
  v.addEventListener('timeupdate', onTime);
  v.addEventListener('ended', onEnd, { once: true });
  v.addEventListener('playing', () => {
    v.classList.add('on');
    setState(`reaction:${name}`);
    note('reaction-start', { name, cause });
  }, { once: true });
  v.currentTime = 0;
  v.play().catch((e) => { note('play-failed', { name, error: e.message }); onEnd(); });
  return true;
}

$('like').addEventListener('click', () => react('smile', 'like'));
$('frame').addEventListener('mouseenter', () => react('brows', 'hover'));

// --- the viewer's expression, read in the browser --------------------------------------------
let cam = null;
$('webcam').addEventListener('click', async () => {
  if (cam) { cam.stop(); cam = null; $('webcam').textContent = 'Use my webcam'; $('viewer').textContent = ''; return; }
  $('webcam').disabled = true;
  try {
    cam = await startWebcam();
    $('webcam').textContent = 'Stop webcam';
  } catch (e) {
    $('viewer').textContent = `Webcam reactions unavailable: ${e.message}`;
    note('webcam-failed', { error: e.message });
  } finally {
    $('webcam').disabled = false;
  }
});

const EXPRESSION_REACTION = { happy: 'smile', surprised: 'surprise', angry: 'frown' };
const ON = 0.7, OFF = 0.4, SURE = 0.9;   // hysteresis on face-api's expression probability; SURE needs no second look

async function startWebcam() {
  $('viewer').textContent = 'Loading the expression model...';
  const faceapi = await import('/vendor/face-api/dist/face-api.esm.js');
  await faceapi.nets.tinyFaceDetector.loadFromUri('/vendor/face-api/model');
  await faceapi.nets.faceExpressionNet.loadFromUri('/vendor/face-api/model');
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
  const video = $('cam');
  video.srcObject = stream;
  await video.play();
  const opts = new faceapi.TinyFaceDetectorOptions({ inputSize: 160, scoreThreshold: 0.4 });
  // the faster of WebGL and plain JavaScript on this machine (WebGL without a GPU can be the slower):
  // the time one detection takes is most of the delay between a smile and the reaction
  const timing = {};
  for (const backend of ['webgl', 'cpu']) {
    try {
      if (!(await faceapi.tf.setBackend(backend))) continue;
      await faceapi.tf.ready();
      await faceapi.detectSingleFace(video, opts).withFaceExpressions();   // warm-up (shader compilation)
      const t = performance.now();
      for (let i = 0; i < 3; i++) await faceapi.detectSingleFace(video, opts).withFaceExpressions();
      timing[backend] = (performance.now() - t) / 3;
    } catch { /* not available here */ }
  }
  const best = Object.entries(timing).sort((a, b) => a[1] - b[1])[0];
  if (!best) throw new Error('no TensorFlow.js backend works in this browser');
  await faceapi.tf.setBackend(best[0]);
  await faceapi.tf.ready();
  note('webcam-on', { backend: best[0], msPerDetection: Object.fromEntries(Object.entries(timing).map(([k, v]) => [k, Math.round(v)])) });
  $('viewer').textContent = `Watching your expression (${best[0]}, ${Math.round(best[1])} ms a look)...`;
  const active = {};   // expression -> currently on (hysteresis)
  const pending = {};  // expression -> time first seen above ON in this run
  let running = true;
  (async function loop() {
    while (running) {
      const t0 = performance.now();
      const det = await faceapi.detectSingleFace(video, opts).withFaceExpressions();
      if (!running) break;
      if (det) {
        const ex = det.expressions;
        const [top, p] = Object.entries(ex).sort((a, b) => b[1] - a[1])[0];
        $('viewer').textContent = `You look ${top} (${Math.round(p * 100)}%)`;
        for (const [expr, reaction] of Object.entries(EXPRESSION_REACTION)) {
          const v = ex[expr] ?? 0;
          if (!active[expr] && v >= ON) {
            // seen: note when; react at once when certain (p >= SURE), else confirm on the next detection
            const first = pending[expr] === undefined;
            if (first) { pending[expr] = t0; note('viewer-expression', { expression: expr, p: v, frameTime: t0, detectMs: Math.round(performance.now() - t0) }); }
            if (!first || v >= SURE) { active[expr] = true; delete pending[expr]; react(reaction, 'webcam'); }
          } else if (v < ON) {
            delete pending[expr];
            if (v < OFF) active[expr] = false;
          }
        }
      } else {
        $('viewer').textContent = 'No face in view';
      }
      await new Promise((r) => setTimeout(r, 30));
    }
  })();
  return { stop() { running = false; stream.getTracks().forEach((t) => t.stop()); note('webcam-off'); } };
}

// reopen a rendered portrait from the address (?p=ID)
const p = new URLSearchParams(location.search).get('p');
if (p && /^[0-9a-f]{64}$/.test(p)) follow(p).catch((e) => { $('progress').hidden = true; showError(e.message); });
