#include <vector>

class Stack {
public:
    void push(int value) { items.push_back(value); }
    int pop() {$0
    }
private:
    std::vector<int> items;
};
