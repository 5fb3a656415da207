/** A matplotlib plot for the adapters' end-to-end tests, and a check that bytes are a PNG. */
export const PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [4, 1, 9])\nplt.title('zigzag')\nplt.show()";

export const isPng = (base64: string) =>
  Buffer.from(base64, "base64").subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
