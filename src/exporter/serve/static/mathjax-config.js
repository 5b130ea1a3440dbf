// MathJax as Anki configures it: \( … \) inline, \[ … \] displayed, nothing else.
window.MathJax = {
  tex2jax: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: false },
  messageStyle: "none",
  showMathMenu: false,
  "HTML-CSS": { availableFonts: [], webFont: "TeX" },
};
