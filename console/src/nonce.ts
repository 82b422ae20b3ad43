// The page's Content-Security-Policy admits <style> elements only with this load's nonce. xterm.js
// makes its own (colours, cell sizes) as it runs, so each one made here gets the nonce that
// index.html was served with. Imported first, before any library makes an element.

const nonce = document.querySelector<HTMLMetaElement>('meta[name="kiln-style-nonce"]')?.content ?? "";
const create = document.createElement.bind(document);

document.createElement = function (tag: string, options?: ElementCreationOptions): HTMLElement {
  const el = create(tag, options);
  if (nonce && tag.toLowerCase() === "style") el.nonce = nonce;
  return el;
} as typeof document.createElement;

export {};
