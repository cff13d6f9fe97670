import { readFile } from "fs/promises";

export async function loadJson(path) {$0
}
