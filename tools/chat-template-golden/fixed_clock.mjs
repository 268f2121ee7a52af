// Pins the clock that strftime_now() reads, so goldens are reproducible; the C++ tests
// inject the same instant. Import before rendering.
export const NOW_EPOCH_SECONDS = 1741964966; // 2025-03-14T15:09:26Z
process.env.TZ = "UTC";
const RealDate = Date;
globalThis.Date = class extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(NOW_EPOCH_SECONDS * 1000);
    else super(...args);
  }
  static now() {
    return NOW_EPOCH_SECONDS * 1000;
  }
};
