// Browser end-to-end tests of the web explorer: a local 4-validator network (gm suite) and a
// single-node open chain (intl), driven through headless Chromium with playwright-core.
//
//   node tests/browser/explorer.test.mjs
//
// Environment: KEXIN_BIN (default $CARGO_TARGET_DIR/debug/kexin or target/debug/kexin),
// CHROMIUM (default /usr/bin/chromium), KEXIN_SCREENSHOTS (default docs/screenshots).
// Every check prints "ok" or "FAIL <check>: <why>"; the exit status is 1 if any failed.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';
import { createRequire } from 'node:module';
import { ROOT, attest, kexin, netUp, openNode } from './kexin.mjs';
import { appChecks, setupApps } from './apps.mjs';

const started = Date.now();
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = resolve(ROOT, process.env.KEXIN_SCREENSHOTS || 'docs/screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const WAIT = 15_000;

const failures = [];
let checks = 0;

/** Runs one named check; a failure is reported and counted, and the run goes on. */
async function check(name, fn) {
  checks++;
  const t = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    failures.push(name);
    console.log(`FAIL ${name}: ${String(e.message || e).split('\n').slice(0, 6).join('\n     ')}`);
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

function equal(actual, expected, what) {
  if (actual !== expected) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------

const work = mkdtempSync(join(tmpdir(), 'kexin-browser-'));
const netDir = join(work, 'net');
const openDir = join(work, 'open');
let net;
let open;
let browser;

async function cleanup() {
  await browser?.close().catch(() => {});
  await Promise.all([net?.down(), open?.stop()]);
  rmSync(work, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => cleanup().finally(() => process.exit(130)));
}

try {
  console.log(`# starting a 4-validator gm network and a 1-node intl open chain in ${work}`);
  [net, open] = await Promise.all([netUp(netDir, { nodes: 4, suite: 'gm' }), openNode(openDir, { suite: 'intl' })]);
  const base = net.url(0);
  const openBase = open.url();
  console.log(`# network up at ${base}, open chain at ${openBase} (${elapsed()})`);

  // Evidence: one file alone, then three in one transaction (a richer block to look at).
  const files = join(work, 'files');
  mkdirSync(files);
  const contract = join(files, 'loan-contract-2026-118.pdf');
  const contractBytes = Buffer.concat([Buffer.from('%PDF-1.7 loan contract 2026-118\n'), randomBytes(4096)]);
  writeFileSync(contract, contractBytes);
  const writer = join(netDir, 'org1', 'writer');
  const first = (await attest(base, join(work, 'receipts'), { files: [contract], identity: writer })).receipts[0];
  const batch = ['invoice-0001.xml', 'invoice-0002.xml', 'invoice-0003.xml'].map((n) => {
    const p = join(files, n);
    writeFileSync(p, `<invoice id="${n}">${randomBytes(16).toString('hex')}</invoice>\n`);
    return p;
  });
  const second = await attest(base, join(work, 'receipts'), { files: batch, identity: writer });
  // On the open chain, labels that are markup: they must show as text.
  const scriptLabel = '<script>alert(1)</script>';
  const imgLabel = '<img src=x onerror="document.title=\'pwned\'">';
  const evilDigest = randomBytes(32).toString('hex');
  const evil1 = (await attest(openBase, join(work, 'open-receipts'), { digests: [evilDigest], key: open.key, label: scriptLabel })).receipts[0];
  const evil2 = (await attest(openBase, join(work, 'open-receipts'), { digests: [evilDigest], key: open.key, label: imgLabel })).receipts[0];
  console.log(`# attested: ${first.tx_hash} (block ${first.height}), ${second.receipts.length} more, 2 on the open chain (${elapsed()})`);

  // A contract: a counter compiled by the pinned solc (contracts/package.json), deployed by
  // org1's admin and called once by its writer.
  const solc = createRequire(join(ROOT, 'contracts', 'package.json'))('solc');
  const compiled = JSON.parse(solc.compile(JSON.stringify({
    language: 'Solidity',
    sources: { 'Counter.sol': { content: readFileSync(join(ROOT, 'crates/kexin-evm/tests/contracts/Counter.sol'), 'utf8') } },
    settings: { evmVersion: 'prague', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
  })));
  const artifact = join(work, 'Counter.json');
  writeFileSync(artifact, JSON.stringify(compiled));
  const admin = join(netDir, 'org1', 'admin');
  const deployed = JSON.parse(await kexin(['contract', 'deploy', artifact, '--contract', 'CounterV1', '--node', base, '--identity', admin, '--json']));
  const called = JSON.parse(await kexin(['contract', 'call', deployed.address, 'inc()', '--node', base, '--identity', writer, '--json']));
  console.log(`# contract ${deployed.address} deployed at ${deployed.height}, called in ${called.tx_hash} (${elapsed()})`);

  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  mkdirSync(SHOTS, { recursive: true });

  // Every page is watched: requests must stay on the node's origin; console errors, page
  // errors and dialogs are failures. An API answer of 404 is logged by Chromium as a console
  // error; it is allowed only where a test expects one (a search miss, an unknown file).
  const problems = [];
  let expect404 = false;
  async function newPage(viewport = DESKTOP, origin = base) {
    const page = await browser.newPage({ viewport });
    const allowed = new URL(origin).origin;
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== allowed) {
        problems.push(`request to another origin: ${u}`);
      }
    });
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const url = m.location()?.url || '';
      const api404 = /status of 404/.test(m.text()) && new URL(url, allowed).pathname.startsWith('/v1/');
      if (!(expect404 && api404)) problems.push(`console error: ${m.text()} ${url}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', (d) => {
      problems.push(`dialog opened: ${d.type()} ${d.message()}`);
      d.dismiss().catch(() => {});
    });
    return page;
  }
  async function allow404(fn) {
    expect404 = true;
    try {
      return await fn();
    } finally {
      // Console messages arrive asynchronously: let those of this step land first.
      await new Promise((r) => setTimeout(r, 200));
      expect404 = false;
    }
  }
  /** Opens an explorer route and waits until its heading is drawn. */
  async function go(page, route, heading, origin = base) {
    await page.goto(`${origin}/#/${route}`);
    await waitHeading(page, heading);
  }
  async function waitHeading(page, heading) {
    try {
      await page.waitForFunction(
        (text) => {
          const m = document.querySelector('main');
          const h1 = m && m.querySelector('h1');
          return m && !m.hasAttribute('aria-busy') && h1 && h1.textContent.includes(text);
        },
        heading,
        { timeout: WAIT },
      );
    } catch {
      const h1 = await page.locator('main h1').first().textContent().catch(() => null);
      const text = await page.locator('main').innerText().catch(() => '');
      throw new Error(`page ${page.url()} never showed heading “${heading}” (h1: ${JSON.stringify(h1)}; text: ${text.slice(0, 300)})`);
    }
  }
  const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  const text = (page, sel) => page.locator(sel).first().innerText();
  const api = async (path, origin = base) => (await fetch(origin + path)).json();
  /** The text of the QR code in a PNG image, drawn and read back in `page`, decoded by jsQR. */
  async function decodeQr(page, png) {
    const { width, height, data } = await page.evaluate(async (b64) => {
      const im = new Image();
      im.src = `data:image/png;base64,${b64}`;
      await im.decode();
      const c = document.createElement('canvas');
      c.width = im.naturalWidth;
      c.height = im.naturalHeight;
      const ctx = c.getContext('2d');
      ctx.drawImage(im, 0, 0);
      return { width: c.width, height: c.height, data: Array.from(ctx.getImageData(0, 0, c.width, c.height).data) };
    }, png.toString('base64'));
    const code = jsQR(Uint8ClampedArray.from(data), width, height);
    assert(code, 'jsQR found no QR code in the image');
    return code.data;
  }

  const page = await newPage();

  await check('dashboard shows the chain, its height next to "Height" and "4 / 4" validators', async () => {
    await go(page, '', 'Dashboard');
    const chain = await api('/v1/chain');
    equal(await text(page, '#stat-chain'), chain.chain_id, 'chain id');
    assert((await text(page, '#stat-suite')).startsWith('gm'), 'suite is not gm');
    // The chain is quiet: the rendered height must reach the API's and agree with it.
    await page.waitForFunction(
      async () => {
        const api = await (await fetch('/v1/chain')).json();
        return document.getElementById('stat-height').textContent === String(api.height);
      },
      null,
      { timeout: WAIT },
    ).catch(async () => {
      throw new Error(`height shown ${await text(page, '#stat-height')}, /v1/chain says ${(await api('/v1/chain')).height}`);
    });
    assert(Number(await text(page, '#stat-height')) >= second.last_height, 'height below the last attested block');
    const label = await page.locator('#stat-height').evaluate((el) => el.previousElementSibling.textContent);
    equal(label, 'Height', 'label next to the height');
    await page.waitForFunction(() => document.getElementById('stat-validators').textContent === '4 / 4', null, { timeout: 30_000 }).catch(async () => {
      throw new Error(`validators shown ${JSON.stringify(await text(page, '#stat-validators'))}, expected "4 / 4"`);
    });
    const vlabel = await page.locator('#stat-validators').evaluate((el) => el.previousElementSibling.textContent);
    equal(vlabel, 'Validators', 'label next to the validators');
    const body = await page.locator('body').innerText();
    assert(/Height\s+\d+/.test(body) && /Validators\s+4 \/ 4/.test(body), 'page text lacks "Height N" or "Validators 4 / 4"');
    equal(await text(page, '#stat-orgs'), '4', 'organisations');
    assert(await page.locator(`#latest-transactions [data-hash="${first.tx_hash}"]`).count(), 'first transaction not in the latest list');
    assert(await page.locator('.chart-box svg path.tx').count(), 'no throughput chart line');
  });

  await check('the latest lists update live (no reload) after a new attestation', async () => {
    await page.waitForFunction(() => document.querySelector('.live')?.dataset.state === 'live', null, { timeout: WAIT });
    await page.evaluate(() => (window.__noReload = true));
    const live = join(files, 'audit-log-2026-11.txt');
    writeFileSync(live, `audit log ${randomBytes(8).toString('hex')}\n`);
    const r = (await attest(base, join(work, 'receipts'), { files: [live], identity: writer })).receipts[0];
    await page.waitForSelector(`#latest-transactions [data-hash="${r.tx_hash}"]`, { timeout: WAIT }).catch(() => {
      throw new Error(`transaction ${r.tx_hash} (block ${r.height}) did not appear in the latest transactions`);
    });
    await page.waitForSelector(`#latest-blocks [data-height="${r.height}"]`, { timeout: WAIT }).catch(() => {
      throw new Error(`block ${r.height} did not appear in the latest blocks`);
    });
    assert(Number(await text(page, '#stat-height')) >= r.height, 'height did not advance');
    assert(await page.evaluate(() => window.__noReload === true), 'the page reloaded');
    const firstRow = await page.locator('#latest-transactions tbody tr').first().getAttribute('data-hash');
    equal(firstRow, r.tx_hash, 'newest transaction first');
  });
  await shot(page, 'dashboard');

  await check('search by transaction hash opens the transaction', async () => {
    await page.fill('#q', first.tx_hash.toUpperCase());
    await page.press('#q', 'Enter');
    await waitHeading(page, 'Evidence transaction');
    equal(new URL(page.url()).hash, `#/tx/${first.tx_hash}`, 'route');
    equal(await text(page, 'main .subtitle'), first.tx_hash, 'hash shown');
    const main = await page.locator('main').innerText();
    assert(main.includes('committed') && main.includes('org1'), 'status or organisation missing');
    assert(await page.locator(`main a[href="#/receipt/${first.tx_hash}/0"]`).count(), 'no receipt link');
  });

  // Protocol version 4 (the default for new chains): every committed transaction has an
  // outcome, which its block's header commits to.
  await check('transaction page shows the outcome: success, its cost and the evidence event', async () => {
    await go(page, `tx/${first.tx_hash}`, 'Evidence transaction');
    const { outcome } = await api(`/v1/transactions/${first.tx_hash}`);
    assert(outcome, 'the API gives no outcome for a committed transaction');
    equal(outcome.status, 'success', 'API outcome status');
    equal(outcome.committed, true, 'API outcome committed (a block of protocol version 4)');
    const section = page.locator('main section[aria-labelledby="s-outcome"]');
    equal(await section.count(), 1, 'Outcome sections');
    equal(await section.locator('[data-outcome]').getAttribute('data-outcome'), 'success', 'outcome status shown');
    equal(await section.locator('[data-outcome] .badge-ok').innerText(), 'success', 'status badge');
    const shown = await section.innerText();
    assert(shown.includes(`${outcome.cost.toLocaleString('en-US')} cost units`), `cost ${outcome.cost} not shown: ${shown.slice(0, 300)}`);
    const rows = await section.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));
    const ev = rows.find((r) => r[0] === 'evidence' && r[1] === 'records_attested');
    assert(ev, `no evidence / records_attested event row: ${JSON.stringify(rows)}`);
    assert(ev[2].includes('count = 1') && ev[2].includes('org = org1'), `event attributes: ${JSON.stringify(ev[2])}`);
    equal(rows.length, outcome.events.length, 'event rows');
  });
  await shot(page, 'transaction');

  await check('search by block height opens the block', async () => {
    await page.fill('#q', String(second.first_height));
    await page.press('#q', 'Enter');
    await waitHeading(page, `Block ${second.first_height}`);
    equal(new URL(page.url()).hash, `#/block/${second.first_height}`, 'route');
    const block = await api(`/v1/blocks/${second.first_height}`);
    equal(await text(page, 'main .subtitle'), block.hash, 'block hash shown');
    for (const t of block.transactions) assert(await page.locator(`main a[href="#/tx/${t}"]`).count(), `no link to tx ${t}`);
    await page.waitForFunction(() => !document.querySelector('main [data-kind]')?.textContent.includes('…'), null, { timeout: WAIT });
    assert((await page.locator('main').innerText()).includes('3 records'), 'record count of the batch transaction');
  });
  await shot(page, 'block');

  // A 64-hex search asks for a transaction, then a block, then a digest: the misses on the
  // way are API 404s, which Chromium logs.
  await check('search by block hash and by digest open the block and the evidence', () =>
    allow404(async () => {
      const block = await api(`/v1/blocks/${first.height}`);
      await page.fill('#q', block.hash);
      await page.press('#q', 'Enter');
      await waitHeading(page, `Block ${first.height}`);
      equal(new URL(page.url()).hash, `#/block/${block.hash}`, 'route');
      await page.fill('#q', first.digest);
      await page.press('#q', 'Enter');
      await waitHeading(page, 'Evidence');
      equal(new URL(page.url()).hash, `#/evidence/${first.digest}`, 'route');
    }),
  );

  await check('search for an unknown hash says "not found" and names it', async () => {
    const unknown = randomBytes(32).toString('hex');
    await allow404(async () => {
      await page.fill('#q', unknown);
      await page.press('#q', 'Enter');
      await waitHeading(page, 'Not found');
    });
    const msg = await text(page, '#search-not-found');
    assert(msg.includes(unknown) && /no transaction, block or evidence digest/.test(msg), `message: ${msg}`);
  });

  await check('a contract call links to its contract, whose page reads a slot with its proof', async () => {
    await go(page, `tx/${called.tx_hash}`, 'Contract call transaction');
    // `kexin contract deploy` published the ABI: the call and its event are decoded.
    const txText = await text(page, 'main');
    assert(txText.includes('inc()'), `the call is not decoded: ${txText.slice(0, 600)}`);
    assert(/Incremented[\s\S]*value: 1/.test(txText), `the log is not decoded: ${txText.slice(0, 900)}`);
    const link = page.locator(`main a[href="#/contract/${deployed.address}"]`).first();
    assert(await link.count(), 'no link to the contract');
    await link.click();
    await waitHeading(page, 'Contract');
    const overview = await text(page, 'main .facts');
    assert(overview.includes('active') && /bytes/.test(overview) && overview.includes('org1'), `overview: ${overview.slice(0, 300)}`);
    assert(/published with the deployment/.test(overview) && overview.includes(deployed.tx_hash.slice(0, 16)), `deployment and ABI: ${overview.slice(0, 600)}`);
    const main = await text(page, 'main');
    assert(/Transactions[\s\S]*inc\(\)[\s\S]*deployment/.test(main), `the transactions, newest first: ${main.slice(0, 1200)}`);
    assert(/Events[\s\S]*Incremented/.test(main), `the events: ${main.slice(0, 1500)}`);
    assert(await page.locator('main a[download$=".abi.json"]').count(), 'no ABI download');
    await page.fill('#slot', '0');
    await page.click('#slot-form button');
    await page.waitForSelector('#slot-result a[download]', { timeout: WAIT });
    const result = await text(page, '#slot-result');
    assert(result.includes('0x' + '0'.repeat(63) + '1'), `slot 0 after one inc(): ${result.slice(0, 200)}`);
    await shot(page, 'contract');
    // The search box takes an address.
    await page.fill('#q', deployed.address.toUpperCase().replace('0X', '0x'));
    await page.press('#q', 'Enter');
    await waitHeading(page, 'Contract');
    equal(new URL(page.url()).hash, `#/contract/${deployed.address}`, 'route');
  });

  await check('search for malformed input explains what is accepted', async () => {
    await page.fill('#q', 'not-a-hash');
    await page.press('#q', 'Enter');
    await waitHeading(page, 'Search');
    const msg = await text(page, 'main .notice');
    assert(msg.includes('“not-a-hash” is not a block height'), `message: ${msg}`);
    await page.goto(`${base}/#/search/abc123`);
    await waitHeading(page, 'Search');
    assert((await text(page, 'main .notice')).includes('64'), 'short hex not explained');
  });

  await check('evidence page lists every record with receipt links', async () => {
    await go(page, `evidence/${first.digest}`, 'Evidence');
    const rows = await page.locator('main tbody tr').count();
    equal(rows, 1, 'records');
    assert(await page.locator(`main a[href="#/receipt/${first.tx_hash}/0"]`).count(), 'receipt link');
  });
  await shot(page, 'evidence');

  const receiptRoute = `receipt/${first.tx_hash}/0`;
  await check('receipt page verifies in the browser and its QR code decodes to its URL', async () => {
    await go(page, receiptRoute, 'Evidence receipt');
    await page.waitForSelector('main [data-result]', { timeout: WAIT });
    equal(await page.locator('main [data-result]').getAttribute('data-result'), 'verified', 'browser verification');
    // A receipt of a version 4 block (receipt version 5) proves the transaction's outcome.
    equal(await page.locator('main [data-step="outcome"]').getAttribute('data-ok'), 'true', 'outcome step');
    const outcome = page.locator('main section[aria-labelledby="s-outcome"]');
    equal(await outcome.locator('[data-outcome]').getAttribute('data-outcome'), 'success', 'proven outcome on the receipt page');
    assert((await outcome.innerText()).includes('records_attested'), 'the receipt page does not show the evidence event');
    const img = page.locator('#receipt-qr img');
    await img.evaluate((el) => el.decode());
    const png = await img.screenshot();
    equal(await decodeQr(page, png), `${base}/#/${receiptRoute}`, 'QR code content');
  });
  await shot(page, 'receipt');

  await check('receipt page prints: navigation hidden, QR code and proof facts shown', async () => {
    await page.emulateMedia({ media: 'print' });
    try {
      assert(!(await page.locator('.topbar').isVisible()), 'navigation bar is printed');
      assert(!(await page.locator('main .actions').isVisible()), 'buttons are printed');
      assert(await page.locator('#receipt-qr img').isVisible(), 'QR code is not printed');
      assert(await page.locator('main .facts').first().isVisible(), 'proof facts are not printed');
      await page.screenshot({ path: join(SHOTS, 'receipt-print.png'), fullPage: true });
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
  });

  await check('verify page: the attested file is verified, a modified copy is not', async () => {
    await go(page, 'verify', 'Verify a file');
    const input = page.getByLabel('File to verify');
    await input.setInputFiles({ name: 'loan-contract-2026-118.pdf', mimeType: 'application/pdf', buffer: contractBytes });
    await page.waitForSelector('#verify-result [data-result]', { timeout: WAIT });
    equal(await page.locator('#verify-result [data-result]').first().getAttribute('data-result'), 'verified', 'attested file');
    const result = await page.locator('#verify-result').innerText();
    assert(result.includes('Verified') && result.includes(first.digest), 'no "Verified" with the digest');
    assert(/not checked here/.test(result) || /passed/.test(result), 'no per-step statement');
    await shot(page, 'verify');
    const modified = Buffer.from(contractBytes);
    modified[modified.length - 1] ^= 1;
    await allow404(async () => {
      await input.setInputFiles({ name: 'loan-contract-2026-118.pdf', mimeType: 'application/pdf', buffer: modified });
      await page.waitForSelector('#verify-result [data-result="not-found"]', { timeout: WAIT });
    });
    const r2 = await page.locator('#verify-result').innerText();
    assert(/Not verified/.test(r2) && /Not found/.test(r2), `modified file result: ${r2.slice(0, 200)}`);
    assert(!r2.includes(first.digest), 'modified file shows the original digest');
  });

  await check('organisation page: CA, certificates with role, status and expiry, validators', async () => {
    await go(page, 'org/org1', 'Organisation org1');
    const main = await page.locator('main').innerText();
    for (const s of ['org1 CA', 'writer', 'valid', 'node0']) assert(main.includes(s), `missing “${s}”`);
  });
  await shot(page, 'org');

  await check('validator page: key, organisation, online status', async () => {
    const vals = await api('/v1/validators');
    const v = vals.validators.find((x) => x.name === 'node1');
    await go(page, `validator/${v.public_key}`, 'Validator node1');
    const main = await page.locator('main').innerText();
    for (const s of [v.public_key, 'org2', 'online']) assert(main.includes(s), `missing “${s}”`);
  });
  await shot(page, 'validator');

  await check('governance page lists the consortium', async () => {
    await go(page, 'gov', 'Governance');
    assert((await page.locator('main').innerText()).includes('org1, org2, org3, org4'), 'members');
  });

  await check('unknown explorer route and unknown server path give friendly pages; API stays JSON', async () => {
    await go(page, 'no/such/page', 'Page not found');
    const html = await fetch(`${base}/no-such-page`, { headers: { Accept: 'text/html' } });
    equal(html.status, 404, 'HTML 404 status');
    assert((await html.text()).includes('Page not found'), 'HTML not-found page');
    const json = await fetch(`${base}/v1/no-such-route`, { headers: { Accept: 'text/html' } });
    equal((await json.json()).code, 'not_found', 'API 404 code');
    const index = await fetch(`${base}/`);
    const csp = index.headers.get('content-security-policy') || '';
    assert(csp.includes("default-src 'self'") && index.headers.get('x-content-type-options') === 'nosniff', `headers: ${csp}`);
  });

  await check('markup in evidence labels renders as text and never runs', async () => {
    const p = await newPage(DESKTOP, openBase);
    await go(p, `evidence/${evilDigest}`, 'Evidence', openBase);
    const main = await p.locator('main').innerText();
    assert(main.includes(scriptLabel), 'script label not shown as text');
    assert(main.includes(imgLabel), 'img label not shown as text');
    equal(await p.locator('main script').count(), 0, 'script elements in main');
    equal(await p.locator('main img').count(), 0, 'img elements in main');
    assert((await p.title()) !== 'pwned', 'onerror handler ran');
    await go(p, `tx/${evil1.tx_hash}`, 'Evidence transaction', openBase);
    assert((await p.locator('main').innerText()).includes(scriptLabel), 'label on the transaction page');
    await go(p, `receipt/${evil2.tx_hash}/0`, 'Evidence receipt', openBase);
    await p.waitForSelector('main [data-result]', { timeout: WAIT });
    equal(await p.locator('main [data-result]').getAttribute('data-result'), 'verified', 'intl receipt verification');
    assert((await p.locator('main').innerText()).includes(imgLabel), 'label on the receipt page');
    equal(await p.locator('main img').count(), 1, 'only the QR image on the receipt page');
    await p.close();
  });

  await check('phone width: dashboard and receipt fit without horizontal overflow', async () => {
    const p = await newPage(PHONE);
    await go(p, '', 'Dashboard');
    await p.waitForFunction(() => document.getElementById('stat-validators').textContent === '4 / 4', null, { timeout: WAIT });
    const over = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(over <= 0, `dashboard overflows by ${over}px`);
    await shot(p, 'dashboard-phone');
    await go(p, receiptRoute, 'Evidence receipt');
    await p.waitForSelector('main [data-result]', { timeout: WAIT });
    const over2 = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(over2 <= 0, `receipt page overflows by ${over2}px`);
    await shot(p, 'receipt-phone');
    await p.close();
  });

  await check('accessibility basics: lang, labelled search, one h1, named links and images', async () => {
    await go(page, '', 'Dashboard');
    equal(await page.getAttribute('html', 'lang'), 'en', 'lang');
    assert(await page.getByLabel('Search by transaction hash, block height, block hash or digest').count(), 'search input has no label');
    equal(await page.locator('h1').count(), 1, 'h1 count');
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll('a, button')].filter((e) => !(e.textContent.trim() || e.getAttribute('aria-label'))).length,
    );
    equal(unnamed, 0, 'links or buttons without a name');
  });

  // The applications come last: their transactions would push the first ones out of the
  // dashboard's latest lists.
  const apps = await setupApps(base, netDir, work, first.digest);
  console.log(`# applications: receivables on ${apps.scf}, batches ${apps.sold} and ${apps.recalled} traced (${elapsed()})`);
  await appChecks({ check, newPage, go, waitHeading, shot, text, assert, equal, decodeQr, base, PHONE, WAIT }, apps, first.digest);

  await check('no request left the node, no console error, no dialog', async () => {
    assert(problems.length === 0, problems.slice(0, 10).join('\n'));
  });
} catch (e) {
  failures.push('setup');
  console.log(`FAIL setup: ${e.stack || e}`);
} finally {
  await cleanup();
}

console.log(`# ${checks - failures.length} of ${checks} checks passed in ${elapsed()}; screenshots in ${SHOTS}`);
if (failures.length) {
  console.log(`# failed: ${failures.join('; ')}`);
  process.exit(1);
}
