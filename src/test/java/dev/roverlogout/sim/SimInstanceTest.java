package dev.roverlogout.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SimInstanceTest {
    @Test
    @DisplayName("the busiest sliding second counts every request that arrived, answered 429 or not")
    void slidingWindowCountsEveryArrival() {
        SimInstance i = new SimInstance("x");
        long t = 1_000_000;
        for (int k = 0; k < 30; k++) { // 30 requests within 300 ms, half of them refused: all count
            i.recordArrival(t + k * 10);
            if (k % 2 == 0) {
                i.recordCall("dev-" + k, t + k * 10, null);
            }
        }
        i.recordArrival(t + 5_000);
        assertThat(i.maxInAnySecond()).isEqualTo(30);
        assertThat(i.calls().getJsonObject("devices").size()).isEqualTo(15);
        // a window is 1,000 ms: arrivals 999 ms apart share one, 1,000 ms apart do not
        SimInstance j = new SimInstance("y");
        j.recordArrival(0);
        j.recordArrival(999);
        j.recordArrival(1999);
        assertThat(j.maxInAnySecond()).isEqualTo(2);
    }
}
