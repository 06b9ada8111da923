// End-to-end test of `vivify serve` as a person uses it, in a real headless browser: Debian's
// chromium driven by playwright-core, with a fake webcam made from a real sample clip of a person
// who starts neutral and then smiles (franck.mp4, 93-99 s). Steps: upload audrey.jpg, wait for
// the render, see it idle; turn the webcam on and check that the smile reaction starts within
// 1 s of the frame in which the page first saw the viewer smile, and that idle resumes after;
// click "like" and check the smile; hover and check the brows. Screenshots go to
// tests/browser/out/ (git-ignored). Prints one JSON line of figures, and "browser: N passed,
// N failed"; exits non-zero on any failure.
// Requires: a Release build of the CLI (scripts/test.sh builds it), ffmpeg, /usr/bin/chromium,
// npm packages installed by scripts/setup.sh. VIVIFY_URL=http://... uses a running server instead.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const out = join(here, 'out');
mkdirSync(out, { recursive: true });
const samples = join(root, 'data', 'samples');
const results = [];
const figures = {};
let server = null, browser = null, dataDir = null;

function check(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
  return ok;
}

async function freePort() {
  return new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
}

async function startServer() {
  if (process.env.VIVIFY_URL) return process.env.VIVIFY_URL;
  const dll = join(root, 'src', 'Vivify.Cli', 'bin', 'Release', 'net10.0', 'Vivify.Cli.dll');
  if (!existsSync(dll)) throw new Error(`${dll} missing: build first (dotnet build src/Vivify.Cli -c Release)`);
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'vivify-e2e-'));
  const url = `http://127.0.0.1:${port}`;
  server = spawn('dotnet', [dll, 'serve', '--urls', url, '--data', dataDir], {
    env: { ...process.env, OPENCV_LOG_LEVEL: 'ERROR', OPENCV_FFMPEG_LOGLEVEL: '-8' }, stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 120; i++) {
    try { if ((await fetch(`${url}/api/health`)).ok) return url; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('the server did not start within 30 s');
}

function fakeWebcam() {
  // franck.mp4 from 93 s: about 3 s of a neutral face, then a broad smile (seen frame by frame)
  const y4m = join(out, 'webcam-franck-smile.y4m');
  if (!existsSync(y4m)) {
    execFileSync('ffmpeg', ['-nostdin', '-loglevel', 'error', '-y', '-ss', '93', '-t', '6', '-i', join(samples, 'franck.mp4'),
      '-vf', 'scale=320:256', '-r', '24', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', y4m]);
  }
  return y4m;
}

const events = (page) => page.evaluate(() => window.vivifyLog);
async function waitEvent(page, pred, timeoutMs, after = 0) {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const ev = (await events(page)).filter((e, i) => i >= after).find((e) => pred(e));
    if (ev) return ev;
    await page.waitForTimeout(50);
  }
  return null;
}

async function main() {
  const url = await startServer();
  const y4m = fakeWebcam();
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${y4m}`, '--autoplay-policy=no-user-gesture-required'],
  });
  const context = await browser.newContext({ viewport: { width: 900, height: 1100 } });
  await context.grantPermissions(['camera'], { origin: url });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  page error: ${m.text()}`); });
  page.on('pageerror', (e) => console.log(`  page exception: ${e.message}`));

  await page.goto(url);
  check('H.264 MP4 plays in this browser', await page.evaluate(() => document.createElement('video').canPlayType('video/mp4; codecs="avc1.64001F"') !== ''));

  // upload and render
  const t0 = Date.now();
  await page.setInputFiles('#file', join(samples, 'audrey.jpg'));
  await page.click('#send');
  await page.waitForSelector('#progress:not([hidden])', { timeout: 10000 });
  await page.screenshot({ path: join(out, '1-rendering.png') });
  await page.waitForSelector('#profile[data-state="idle"]', { timeout: 300000 });
  figures.renderSeconds = Math.round((Date.now() - t0) / 100) / 10;
  check('upload renders and the portrait idles', true, `${figures.renderSeconds} s from upload to idle`);
  // the idle video plays and its time advances; polled (not sampled once at a fixed delay: under load the
  // first frames can take more than a second to decode)
  const idleState = () => page.evaluate(() => { const v = document.getElementById('idle'); return { paused: v.paused, time: v.currentTime, ready: v.readyState }; });
  const first = await idleState();
  let idle = first;
  for (const t1 = Date.now(); Date.now() - t1 < 15000; await page.waitForTimeout(200)) {
    idle = await idleState();
    if (!idle.paused && idle.ready >= 2 && idle.time > first.time) break;
  }
  check('the idle loop is playing', !idle.paused && idle.ready >= 2 && idle.time > first.time,
    `currentTime ${first.time.toFixed(2)} -> ${idle.time.toFixed(2)} s, paused ${idle.paused}, readyState ${idle.ready}`);
  await page.screenshot({ path: join(out, '2-idle.png') });

  // the viewer smiles at the webcam
  let n = (await events(page)).length;
  await page.click('#webcam');
  const on = await waitEvent(page, (e) => e.event === 'webcam-on' || e.event === 'webcam-failed', 60000, n);
  check('the webcam and face-api start in the page', on?.event === 'webcam-on', on ? JSON.stringify(on) : 'timeout');
  const start = await waitEvent(page, (e) => e.event === 'reaction-start' && e.cause === 'webcam', 30000, n);
  check('the viewer\'s smile starts the smile reaction', start?.name === 'smile', start ? start.name : 'no reaction within 30 s');
  if (start) {
    const all = await events(page);
    const seen = all.filter((e) => e.event === 'viewer-expression' && e.expression === 'happy' && e.t <= start.t).pop();
    const latency = seen ? start.t - seen.frameTime : NaN;
    figures.smileToReactionMs = Math.round(latency);
    figures.webcamBackend = on?.backend;
    figures.msPerDetection = on?.msPerDetection;
    figures.detectionMs = seen?.detectMs;
    check('the reaction starts within 1 s of the viewer\'s smile', latency >= 0 && latency < 1000, `${Math.round(latency)} ms from the webcam frame with the smile to the reaction playing`);
    await page.waitForTimeout(600);
    const mid = await page.evaluate(() => ({ state: document.getElementById('profile').dataset.state, opacity: getComputedStyle(document.querySelector('video[data-reaction="smile"]')).opacity }));
    check('the smile clip is on screen', mid.state === 'reaction:smile' && Number(mid.opacity) > 0.9, JSON.stringify(mid));
    await page.screenshot({ path: join(out, '3-webcam-smile.png') });
    const back = await waitEvent(page, (e) => e.event === 'idle' && e.after === 'smile' && e.t > start.t, 15000);
    check('idle resumes after the reaction', back !== null && (await page.getAttribute('#profile', 'data-state')) === 'idle');
    await page.screenshot({ path: join(out, '4-idle-again.png') });
  }
  await page.click('#webcam');   // webcam off

  // like
  await page.waitForSelector('#profile[data-state="idle"]', { timeout: 15000 });
  n = (await events(page)).length;
  const clicked = await page.evaluate(() => performance.now());
  await page.click('#like');
  const liked = await waitEvent(page, (e) => e.event === 'reaction-start' && e.cause === 'like', 5000, n);
  check('"like" plays the smile', liked?.name === 'smile', liked ? `${Math.round(liked.t - clicked)} ms after the click` : 'no reaction');
  if (liked) figures.likeToReactionMs = Math.round(liked.t - clicked);
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(out, '5-like.png') });
  const likedIdle = await waitEvent(page, (e) => e.event === 'idle' && e.after === 'smile' && liked && e.t > liked.t, 15000);
  check('idle resumes after the like', likedIdle !== null);

  // hover
  n = (await events(page)).length;
  await page.hover('#frame');
  const hovered = await waitEvent(page, (e) => e.event === 'reaction-start' && e.cause === 'hover', 5000, n);
  check('hovering raises the brows', hovered?.name === 'brows' || hovered?.name === 'surprise', hovered ? hovered.name : 'no reaction');
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(out, '6-hover.png') });

  // a bad upload shows a readable error on the page
  await page.goto(url);
  await page.setInputFiles('#file', { name: 'not-a-photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('hello, this is text') });
  await page.click('#send');
  await page.waitForSelector('#error:not([hidden])', { timeout: 10000 });
  const msg = await page.textContent('#error');
  check('a text file named .jpg gets a clear error on the page', /not a JPEG, PNG, WebP, AVIF or HEIC/.test(msg), msg);
  await page.screenshot({ path: join(out, '7-error.png') });
}

try {
  await main();
} catch (e) {
  check('browser test ran to the end', false, e.message);
} finally {
  if (browser) await browser.close();
  if (server) { server.kill('SIGTERM'); await new Promise((r) => setTimeout(r, 500)); }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
const passed = results.filter((r) => r.ok).length, failed = results.length - passed;
console.log(`figures: ${JSON.stringify(figures)}`);
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
