import React from "react";

export function Greeting({ name }: { name: string }) {
  return <h1>Hello, $0</h1>;
}
