// The business applications in the browser (docs/applications.md): a receivable issued,
// split, transferred, financed and partly settled on the contract named `scf`, and two goji
// batches traced on the contract named `trace` (one sold, one recalled), set up with the real
// `kexin scf` and `kexin trace` commands; then the pages a bank's staff and a consumer use.

import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { kexin } from './kexin.mjs';

/** Runs `kexin ARGS --node BASE [--identity DIR]`. */
function run(base, args, identity) {
  return kexin([...args, '--node', base, ...(identity ? ['--identity', identity] : [])]);
}

/** Deploys an application (`kexin scf|trace deploy`) as org1's admin and has org2 and org3
 * vote its name through. */
async function deployNamed(base, netDir, app) {
  const id = (org, role) => join(netDir, org, role);
  const deployed = JSON.parse(await run(base, [app, 'deploy', '--json'], id('org1', 'admin')));
  for (const org of ['org2', 'org3']) {
    await run(base, ['gov', 'vote', '--proposal', deployed.name_proposal, '--yes'], id(org, 'admin'));
  }
  return deployed.address;
}

/** Sets up both applications; `doc` is an attested digest (the trade documents, the report). */
export async function setupApps(base, netDir, work, doc) {
  const id = (org, role) => join(netDir, org, role);
  const scf = await deployNamed(base, netDir, 'scf');
  for (const [org, flag] of [['org1', '--core'], ['org2', '--supplier'], ['org3', '--supplier'], ['org4', '--financier']]) {
    await run(base, ['scf', 'roles', org, flag], id('org1', 'admin'));
  }
  // Maturity 40 s from now: by the time the pages are checked, part 3 is overdue and part 2
  // is settled.
  const maturityMs = Math.ceil(Date.now() / 1000 + 40) * 1000;
  const maturity = new Date(maturityMs).toISOString().slice(0, 19) + 'Z';
  const rid = (await run(base, ['scf', 'issue', '--to', 'org2', '--amount', '100000', '--currency', 'CNY', '--maturity', maturity, '--doc', doc], id('org1', 'writer'))).trim();
  await run(base, ['scf', 'confirm', rid], id('org1', 'admin'));
  await run(base, ['scf', 'split', rid, '--parts', '60000,40000'], id('org2', 'writer'));
  await run(base, ['scf', 'transfer', '2', '--to', 'org3'], id('org2', 'writer'));
  await run(base, ['scf', 'finance', '3', '--to', 'org4', '--rate', '3.5'], id('org2', 'writer'));
  await run(base, ['scf', 'accept', '3'], id('org4', 'writer'));

  await deployNamed(base, netDir, 'trace');
  for (const [org, flags] of [['org1', ['--producer']], ['org2', ['--inspector', '--regulator']], ['org3', ['--logistics']], ['org4', ['--retailer']]]) {
    await run(base, ['trace', 'roles', org, ...flags], id('org1', 'admin'));
  }
  const sold = 'GOJI-2026-001';
  const recalled = 'GOJI-2026-002';
  for (const batch of [sold, recalled]) {
    await run(base, ['trace', 'register', batch, '--name', 'Ningxia goji berries, 500 g', '--attributes', 'origin=Zhongning, Ningxia; grade=A; harvest=2026-08'], id('org1', 'writer'));
    await run(base, ['trace', 'event', batch, '--kind', 'production', '--note', 'harvested and sun-dried'], id('org1', 'writer'));
  }
  await run(base, ['trace', 'event', sold, '--kind', 'inspection', '--doc', doc, '--note', 'pesticide residues within GB 2763 limits'], id('org2', 'writer'));
  await run(base, ['trace', 'event', sold, '--kind', 'shipment', '--note', 'cold chain to Shanghai'], id('org3', 'writer'));
  await run(base, ['trace', 'event', sold, '--kind', 'receipt'], id('org4', 'writer'));
  await run(base, ['trace', 'event', sold, '--kind', 'sale'], id('org4', 'writer'));
  await run(base, ['trace', 'recall', recalled, '--reason', 'mould found in retained samples'], id('org2', 'writer'));
  const label = join(work, 'label.png');
  await run(base, ['trace', 'qr', sold, '--out', label]);

  // Settle part 2 once it is due (the debtor's admin; the payment itself is off chain).
  const wait = maturityMs + 1500 - Date.now();
  if (wait > 0) await sleep(wait);
  await run(base, ['scf', 'settle', '2', '--payment-ref', 'CNAPS-20261207-01'], id('org1', 'admin'));
  return { scf, sold, recalled, receivable: rid, label: readFileSync(label) };
}

/** The checks of the application pages. `t` carries the test's helpers. */
export async function appChecks(t, apps, doc) {
  const { check, newPage, go, waitHeading, shot, text, assert, equal, decodeQr, base, PHONE, WAIT } = t;

  await check('receivable page: state, parties and the lineage tree of its root', async () => {
    const page = await newPage();
    await go(page, 'receivable/3', 'Receivable 3');
    const facts = await text(page, 'main .facts');
    assert(/overdue/.test(facts) && facts.includes('400.00 CNY') && facts.includes('org4') && facts.includes('org1'), `facts: ${facts.slice(0, 500)}`);
    assert(facts.includes('by org4 at a discount of 3.50%'), `financing: ${facts.slice(0, 600)}`);
    assert(facts.includes(doc), 'the trade document is not linked');
    assert(await page.locator('main [role="alert"]').count(), 'no overdue notice');
    const tree = page.locator('main .tree');
    equal(await tree.locator('li').count(), 3, 'receivables in the lineage tree');
    equal(await tree.locator('li[data-id="1"] > ul > li').count(), 2, 'parts of the root');
    equal(await tree.locator('li[data-id="2"]').getAttribute('data-status'), 'settled', 'part 2');
    equal(await tree.locator('li[data-id="3"]').getAttribute('data-status'), 'overdue', 'part 3');
    equal(await tree.locator('[aria-current="true"]').innerText().then((s) => s.startsWith('#3')), true, 'the current part is marked');
    await shot(page, 'receivable');
    await tree.locator('li[data-id="2"] > span a').click();
    await waitHeading(page, 'Receivable 2');
    const settled = await text(page, 'main .facts');
    assert(/settled/.test(settled) && settled.includes('CNAPS-20261207-01') && settled.includes('600.00 CNY'), `settled part: ${settled.slice(0, 500)}`);
    await page.close();
  });

  await check("an organisation's open receivables: held and owed", async () => {
    const page = await newPage();
    await go(page, 'org/org4', 'Organisation org4');
    await page.locator('main a[href="#/receivables/org4"]').click();
    await waitHeading(page, 'Receivables of org4');
    const held = page.locator('main section[aria-labelledby="s-held"] tbody tr');
    equal(await held.count(), 1, 'open receivables org4 holds');
    assert((await held.first().innerText()).includes('#3'), 'part 3 is not listed');
    await go(page, 'receivables/org1', 'Receivables of org1');
    const owed = await text(page, 'main section[aria-labelledby="s-owed"]');
    assert(owed.includes('#3') && !owed.includes('#2'), `owed by org1 (part 2 is settled): ${owed}`);
    await page.close();
  });

  await check('the label QR code decodes to the public trace page, which shows the history on a phone', async () => {
    const page = await newPage(PHONE);
    const url = await decodeQr(page, apps.label);
    equal(url, `${base}/explorer/trace/${apps.sold}`, 'QR code content');
    await page.goto(url);
    await waitHeading(page, 'Ningxia goji berries');
    const steps = page.locator('main .steps > li');
    equal(await steps.count(), 5, 'history steps');
    const kinds = await steps.evaluateAll((els) => els.map((e) => e.dataset.kind));
    equal(kinds.join(','), 'production,inspection,shipment,receipt,sale', 'order of the history');
    const inspection = await steps.nth(1).innerText();
    assert(inspection.includes('org2') && inspection.includes(doc), `inspection: ${inspection}`);
    // Every step links its transaction and a receipt that the node serves.
    equal(await page.locator('main .steps a[href^="/#/tx/"]').count(), 5, 'transaction links');
    const receipt = await page.locator('main .steps a[href$="/receipt"]').first().getAttribute('href');
    const r = await fetch(base + receipt);
    equal(r.status, 200, `GET ${receipt}`);
    assert((await r.json()).transaction, 'the receipt has no transaction');
    const main = await text(page, 'main');
    assert(/What this page proves/.test(main) && /does not prove/.test(main), 'no plain statement of what the chain proves');
    equal(await page.locator('main .recall').count(), 0, 'a recall banner on a batch not recalled');
    const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(over <= 0, `the trace page overflows by ${over}px`);
    await shot(page, 'trace-phone');
    await page.close();
  });

  await check('a recalled batch says so first, in words a consumer understands', async () => {
    const page = await newPage(PHONE);
    await page.goto(`${base}/explorer/trace/${apps.recalled}`);
    await waitHeading(page, 'Ningxia goji berries');
    const banner = page.locator('main .recall');
    assert(await banner.isVisible(), 'no recall banner');
    const words = await banner.innerText();
    assert(/do not use/i.test(words) && words.includes('org2') && words.includes('mould found in retained samples'), `banner: ${words}`);
    const first = await page.evaluate(() => document.querySelector('main').firstElementChild.className);
    equal(first, 'recall', 'the first thing on the page');
    assert((await page.title()).startsWith('RECALLED'), 'the title does not say recalled');
    await shot(page, 'trace-recalled-phone');
    await page.goto(`${base}/explorer/trace/NO-SUCH-BATCH`);
    await waitHeading(page, 'Product not found');
    await page.close();
  });
}
