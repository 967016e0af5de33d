// What every start of the console sets before any of its code loads, shared
// by bin/nightshift.js and the single file (dist/nightshift.cjs, see
// bin/one-file.cjs).

export function prepareEnvironment(env = process.env) {
  // React's development build is several times slower per frame; a console on
  // a 5,000-node fleet needs the production one.
  env.NODE_ENV ??= 'production';
  // NO_COLOR (no-color.org) asks for no colour; Ink's chalk reads only
  // FORCE_COLOR, when it loads. An explicit FORCE_COLOR still wins.
  if (env.NO_COLOR) env.FORCE_COLOR ??= '0';
}
